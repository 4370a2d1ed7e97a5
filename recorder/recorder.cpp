// recorder.cpp: the queue, the writer thread and its prepared statements.
#include "recorder/recorder.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <unordered_map>
#include <variant>

#include "engine/clock.hpp"
#include "engine/hub.hpp"
#include "engine/thread_name.hpp"
#include "recorder/frame_inserter.hpp"
#include "recorder/statement.hpp"

namespace streambed::recorder {

// Kept small (80 bytes): a broadcast records one per run of deliveries to a session.
struct Recorder::Event {
    enum class Kind : std::uint8_t { stream, message, open, out, in, close } kind = Kind::message;
    bool last_part = true;      // out: the run ends its frame
    bool parts = false;         // out: the run's messages are parts of one frame (else frames)
    std::uint16_t count = 1;    // out: messages in the run (consecutive seqs of one stream)
    std::uint32_t part = 0;     // out: index of the run's first message within the frame
    int code = 0;               // close: the code; stream: the endpoint's index
    std::uint64_t session = 0;  // or the stream id for Kind::stream
    std::int64_t wall_us = 0;
    engine::MessagePtr message;  // message, out
    std::string text;  // in, close reason, stream channel; open: name \n endpoint \n peer \n target
};

namespace {

using Kind = Recorder::Event::Kind;

// The longest run one row holds (the schema's `span` table numbers 0..255).
constexpr std::size_t kMaxRun = 256;

// What a batch stands for: one per event, a run of deliveries counting each.
std::uint64_t units(const std::vector<Recorder::Event>& batch) {
    std::uint64_t n = 0;
    for (const auto& e : batch) n += e.kind == Recorder::Event::Kind::out ? e.count : 1;
    return n;
}

std::string_view split_next(std::string_view& s) {
    const auto pos = s.find('\n');
    auto head = s.substr(0, pos);
    s = pos == std::string_view::npos ? std::string_view() : s.substr(pos + 1);
    return head;
}

}  // namespace

Recorder::Recorder(const std::string& path, const RunInfo& run, RecorderOptions options)
    : path_(path), options_(options), db_(open_for_writing(path)) {
    try {
        Statement insert(db_.get(),
                         "INSERT INTO run (started_us, version, seed, config, time_scale) VALUES "
                         "(?, ?, ?, ?, ?)");
        insert.i(1, engine::wall_now_us())
            .t(2, run.version)
            .i(3, static_cast<std::int64_t>(run.seed))
            .t(4, run.config)
            .d(5, run.time_scale)
            .run();
        run_id_ = sqlite3_last_insert_rowid(db_.get());
    } catch (const RecordingError& e) {
        throw RecordingError(fmt::format("{}: cannot start a run: {}", path, e.what()));
    }
    if (options_.max_pages > 0)
        exec(db_.get(), fmt::format("PRAGMA max_page_count = {}", options_.max_pages).c_str());
    writer_ = std::thread([this] {
        engine::name_this_thread("recorder");
        run_writer();
    });
}

Recorder::~Recorder() {
    finish();
}

void Recorder::enqueue(Event&& e, bool may_wait) {
    std::unique_lock lock(mu_);
    if (finished_) return;
    if (queue_.size() >= options_.queue_limit) {
        wake_writer_.notify_one();  // full: the writer should not wait out its interval
        if (!may_wait) {
            dropped_.fetch_add(1);
            return;
        }
        room_.wait(lock, [&] { return queue_.size() < options_.queue_limit || stopping_; });
    }
    queue_.push_back(std::move(e));
    queued_.store(queue_.size(), std::memory_order_relaxed);
    if (queue_.size() == batch_ready()) wake_writer_.notify_one();  // a big batch: no need to wait
}

void Recorder::published(const engine::MessagePtr& m) {
    Event e;
    e.kind = Kind::message;
    e.message = m;
    e.wall_us = engine::wall_now_us();
    enqueue(std::move(e), /*may_wait=*/true);  // slows the source, never an I/O thread
}

void Recorder::stream_declared(engine::StreamId id, engine::Endpoint endpoint,
                               std::string_view channel) {
    Event e;
    e.kind = Kind::stream;
    e.session = id;
    e.text = channel;
    e.code = static_cast<int>(engine::index(endpoint));
    enqueue(std::move(e), true);
}

void Recorder::session_opened(const engine::SessionOpened& s) {
    Event e;
    e.kind = Kind::open;
    e.session = s.id;
    e.wall_us = s.wall_us;
    e.text = fmt::format("{}\n{}\n{}\n{}", s.name, engine::info(s.endpoint).path, s.peer, s.target);
    enqueue(std::move(e), false);
}

void Recorder::frame_out(std::uint64_t session, const engine::MessagePtr* messages,
                         std::size_t count, std::int64_t wall_us) {
    enqueue_out(session, messages, count, wall_us, /*parts=*/true);
}

void Recorder::frames_out(std::uint64_t session, const engine::MessagePtr* messages,
                          std::size_t count, std::int64_t wall_us) {
    enqueue_out(session, messages, count, wall_us, /*parts=*/false);
}

void Recorder::enqueue_out(std::uint64_t session, const engine::MessagePtr* messages,
                           std::size_t count, std::int64_t wall_us, bool parts) {
    // One lock for the whole write; an I/O thread never waits for room.
    std::lock_guard lock(mu_);
    if (finished_) return;
    for (std::size_t i = 0; i < count;) {
        // A run: consecutive seqs of one stream (a control message is a run of its own).
        std::size_t end = i + 1;
        const auto& first = *messages[i];
        if (first.stream != engine::kNoStream)
            while (end < count && end - i < kMaxRun && messages[end]->stream == first.stream &&
                   messages[end]->seq == first.seq + (end - i))
                ++end;
        if (queue_.size() >= options_.queue_limit) {
            dropped_.fetch_add(count - i);
            queued_.store(queue_.size(), std::memory_order_relaxed);
            wake_writer_.notify_one();
            return;
        }
        Event& e = queue_.emplace_back();
        e.kind = Kind::out;
        e.session = session;
        e.wall_us = wall_us;
        e.message = messages[i];
        e.count = static_cast<std::uint16_t>(end - i);
        e.parts = parts;
        e.part = parts ? static_cast<std::uint32_t>(i) : 0;
        e.last_part = !parts || end == count;
        if (queue_.size() == batch_ready()) wake_writer_.notify_one();
        i = end;
    }
    queued_.store(queue_.size(), std::memory_order_relaxed);
}

void Recorder::frame_in(std::uint64_t session, std::string_view text, std::int64_t wall_us) {
    Event e;
    e.kind = Kind::in;
    e.session = session;
    e.wall_us = wall_us;
    e.text = text;
    enqueue(std::move(e), false);
}

void Recorder::session_closed(std::uint64_t session, int code, std::string_view reason,
                              std::int64_t wall_us) {
    Event e;
    e.kind = Kind::close;
    e.session = session;
    e.wall_us = wall_us;
    e.code = code;
    e.text = reason;
    enqueue(std::move(e), false);
}

void Recorder::run_writer() {
    std::vector<Event> batch;
    while (true) {
        bool stopping;
        {
            std::unique_lock lock(mu_);
            wake_writer_.wait_for(lock, options_.commit_interval,
                                  [&] { return stopping_ || queue_.size() >= batch_ready(); });
            batch.swap(queue_);
            queued_.store(0, std::memory_order_relaxed);
            stopping = stopping_;
        }
        room_.notify_all();
        if (!batch.empty()) write_batch(batch);
        // Keep the memory for the next batch, unless a burst left far more than it needs.
        if (batch.capacity() > 65536 && batch.size() * 4 < batch.capacity())
            std::vector<Event>().swap(batch);
        batch.clear();
        if (stopping) {
            std::lock_guard lock(mu_);
            if (queue_.empty()) return;
        }
    }
}

void Recorder::write_batch(std::vector<Event>& batch) {
    sqlite3* db = db_.get();
    // Frame numbers per session, in the order the session produced them.
    static thread_local std::unordered_map<std::uint64_t, std::int64_t> next_frame;
    try {
        exec(db, "BEGIN");
        Statement stream(
            db, "INSERT OR IGNORE INTO stream (run, id, endpoint, channel) VALUES (?, ?, ?, ?)");
        Statement message(db,
                          "INSERT OR IGNORE INTO message (run, stream, seq, ord, type, sim_ms, "
                          "wall_us, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        Statement open(db,
                       "INSERT OR IGNORE INTO session (run, id, name, endpoint, peer, target, "
                       "opened_us) VALUES (?, ?, ?, ?, ?, ?, ?)");
        FrameInserter frames(db, run_id_);
        Statement close(db,
                        "UPDATE session SET closed_us = ?, close_code = ?, close_reason = ? WHERE "
                        "run = ? AND id = ?");
        for (auto& e : batch) {
            switch (e.kind) {
                case Kind::stream:
                    stream.i(1, run_id_)
                        .i(2, static_cast<std::int64_t>(e.session))
                        .t_static(
                            3,
                            engine::info(engine::kEndpoints[static_cast<std::size_t>(e.code)]).path)
                        .t(4, e.text)
                        .run();
                    break;
                case Kind::message: {
                    const auto& m = *e.message;
                    message.i(1, run_id_)
                        .i(2, m.stream)
                        .i(3, static_cast<std::int64_t>(m.seq))
                        .i(4, ++published_order_)
                        .t_static(5, engine::name(m.type))
                        .i(6, m.time_ms)
                        .i(7, e.wall_us)
                        .b_static(8, m.bytes)
                        .run();
                    break;
                }
                case Kind::open: {
                    std::string_view rest = e.text;
                    const auto name = split_next(rest);
                    const auto endpoint = split_next(rest);
                    const auto peer = split_next(rest);
                    open.i(1, run_id_)
                        .i(2, static_cast<std::int64_t>(e.session))
                        .t(3, name)
                        .t(4, endpoint)
                        .t(5, peer)
                        .t(6, rest)
                        .i(7, e.wall_us)
                        .run();
                    next_frame[e.session] = 0;
                    break;
                }
                case Kind::out: {
                    auto& n = next_frame[e.session];
                    const auto& m = *e.message;
                    frames.add(static_cast<std::int64_t>(e.session), n, e.part, true, e.wall_us,
                               m.stream == engine::kNoStream ? nullptr : &m, m.bytes, e.count,
                               e.parts);
                    if (!e.parts)
                        n += e.count;
                    else if (e.last_part)
                        ++n;
                    break;
                }
                case Kind::in: {
                    auto& n = next_frame[e.session];
                    frames.add(static_cast<std::int64_t>(e.session), n++, 0, false, e.wall_us,
                               nullptr, e.text);
                    break;
                }
                case Kind::close:
                    close.i(1, e.wall_us)
                        .i(2, e.code)
                        .t(3, e.text)
                        .i(4, run_id_)
                        .i(5, static_cast<std::int64_t>(e.session))
                        .run();
                    next_frame.erase(e.session);
                    break;
            }
        }
        frames.flush();
        exec(db, "COMMIT");
        written_.fetch_add(units(batch));
    } catch (const RecordingError& e) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        dropped_.fetch_add(units(batch));
        if (!failed_.exchange(true)) {
            error_ = e.what();
            spdlog::error(
                "recording {}: {} — the server keeps serving; the run is marked incomplete", path_,
                e.what());
        }
    }
}

void Recorder::finish() {
    {
        std::lock_guard lock(mu_);
        if (finished_) return;
        finished_ = true;
        stopping_ = true;
    }
    wake_writer_.notify_all();
    room_.notify_all();
    if (writer_.joinable()) writer_.join();
    try {
        Statement end(db_.get(),
                      "UPDATE run SET ended_us = ?, complete = ?, dropped_frames = ?, error = ? "
                      "WHERE id = ?");
        end.i(1, engine::wall_now_us())
            .i(2, (dropped_ == 0 && !failed_) ? 1 : 0)
            .i(3, static_cast<std::int64_t>(dropped_.load()));
        if (error_.empty())
            end.null(4);
        else
            end.t(4, error_);
        end.i(5, run_id_).run();
        // Readers want frames by session: index them once, now that the run is over.
        exec(db_.get(),
             "CREATE INDEX IF NOT EXISTS frame_by_session ON frame_row (run, session, n, part)");
        sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    } catch (const RecordingError& e) {
        spdlog::error("recording {}: cannot close the run: {}", path_, e.what());
    }
}

}  // namespace streambed::recorder
