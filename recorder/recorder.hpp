// recorder.hpp: the engine's Tap that persists everything to a SQLite recording, off the hot
// path. I/O threads and the source hand events to a bounded queue; one writer thread commits
// them in batches (at least every 50 ms, WAL). When the queue is full, the source is slowed
// (published messages wait for room) while frames from the I/O threads are dropped and
// counted: the run is then marked incomplete with the exact number dropped. Nothing is lost
// silently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/tap.hpp"
#include "recorder/schema.hpp"

namespace streambed::recorder {

struct RunInfo {
    std::string version;
    std::uint64_t seed = 0;
    std::string config;  // canonical JSON of the source's configuration
    double time_scale = 1.0;
};

struct RecorderOptions {
    // Events waiting for the writer: about 100 MiB at worst, several seconds of the busiest
    // default world with 1,000 clients.
    std::size_t queue_limit = 1 << 20;
    // The longest an event waits before its transaction commits (the durability window).
    std::chrono::milliseconds commit_interval{50};
    // A cap on the file's size in pages (0: none). Reaching it fails writes exactly as a full
    // disk does (SQLITE_FULL), which is how the tests exercise that path.
    std::int64_t max_pages = 0;
};

class Recorder final : public engine::Tap {
  public:
    // Opens or creates `path` and starts a run; throws RecordingError (naming the file).
    Recorder(const std::string& path, const RunInfo& run, RecorderOptions options = {});
    ~Recorder() override;  // finish()

    // Flushes everything queued, closes the run (complete unless something was dropped or
    // failed) and stops the writer. Idempotent.
    void finish();

    std::int64_t run_id() const { return run_id_; }
    // Events written and dropped, a run of deliveries counting each delivery.
    std::uint64_t written() const { return written_.load(); }
    std::uint64_t dropped() const { return dropped_.load(); }
    bool failed() const { return failed_.load(); }

    // engine::Tap
    void published(const engine::MessagePtr& message) override;
    void stream_declared(engine::StreamId id, engine::Endpoint endpoint,
                         std::string_view channel) override;
    void session_opened(const engine::SessionOpened& session) override;
    void frame_out(std::uint64_t session, const engine::MessagePtr* messages, std::size_t count,
                   std::int64_t wall_us) override;
    void frames_out(std::uint64_t session, const engine::MessagePtr* messages, std::size_t count,
                    std::int64_t wall_us) override;
    void frame_in(std::uint64_t session, std::string_view text, std::int64_t wall_us) override;
    void session_closed(std::uint64_t session, int code, std::string_view reason,
                        std::int64_t wall_us) override;
    double fill() const override {
        return static_cast<double>(queued_.load(std::memory_order_relaxed)) /
               static_cast<double>(options_.queue_limit);
    }

    struct Event;

  private:
    void enqueue(Event&& e, bool may_wait);
    // Outbound messages, as runs (consecutive seqs of one stream); `parts`: of one frame.
    void enqueue_out(std::uint64_t session, const engine::MessagePtr* messages, std::size_t count,
                     std::int64_t wall_us, bool parts);
    void run_writer();
    void write_batch(std::vector<Event>& batch);
    // Enough queued events to commit without waiting for the interval.
    std::size_t batch_ready() const { return std::min<std::size_t>(4096, options_.queue_limit); }

    std::string path_;
    RecorderOptions options_;
    Db db_;
    std::int64_t run_id_ = 0;

    std::mutex mu_;
    std::condition_variable wake_writer_, room_;
    // A vector, swapped with the writer's: its memory is reused from batch to batch, so a busy
    // recording neither allocates per event nor faults in fresh pages.
    std::vector<Event> queue_;
    bool stopping_ = false;
    bool finished_ = false;
    std::thread writer_;

    std::atomic<std::uint64_t> written_{0}, dropped_{0};
    std::atomic<std::size_t> queued_{0};  // queue_.size(), readable without the lock
    std::atomic<bool> failed_{false};
    std::string error_;                 // writer thread only, until finish()
    std::int64_t published_order_ = 0;  // writer thread only
};

}  // namespace streambed::recorder
