// replay_source.cpp: reading a run in publish order and pacing it.
#include "recorder/replay_source.hpp"

#include <fmt/format.h>

#include <chrono>

#include "engine/clock.hpp"
#include "engine/epoch.hpp"
#include "recorder/statement.hpp"

namespace streambed::recorder {
namespace {

// The data object of a framed message: {"type":…,"channel":…,"seq":…,"time":…,"data":DATA}
std::string_view data_of(std::string_view payload) {
    const auto pos = payload.find(R"(,"data":)");
    if (pos == std::string_view::npos || payload.size() < pos + 9 || payload.back() != '}')
        return {};
    return payload.substr(pos + 8, payload.size() - pos - 9);
}

}  // namespace

ReplaySource::ReplaySource(ReplayOptions options)
    : options_(std::move(options)), db_(open_for_reading(options_.path)) {
    Query runs(db_.get(),
               "SELECT id, coalesce(time_scale, 1), started_us, version, coalesce(seed, ''), "
               "coalesce(config, '') "
               "FROM run ORDER BY id DESC");
    bool found = false;
    while (runs.next()) {
        if (!options_.run || runs.i(0) == *options_.run) {
            run_ = runs.i(0);
            recorded_scale_ = runs.d(1);
            epoch_ = engine::epoch_of("replay-", fmt::format("{}\n{}\n{}\n{}\n{}", run_, runs.i(2),
                                                             runs.s(3), runs.s(4), runs.s(5)));
            found = true;
            break;
        }
    }
    if (!found)
        throw RecordingError(options_.run
                                 ? fmt::format("{}: no run {}", options_.path, *options_.run)
                                 : fmt::format("{}: the recording holds no run", options_.path));
    Query count(db_.get(), "SELECT count(*) FROM message WHERE run = ?");
    count.i(1, run_);
    count.next();
    total_ = static_cast<std::uint64_t>(count.i(0));
    if (total_ == 0)
        throw RecordingError(
            fmt::format("{}: run {} recorded no data message", options_.path, run_));
}

ReplaySource::~ReplaySource() {
    stop();
}

void ReplaySource::start(engine::Publisher& publisher) {
    publisher.set_epoch(epoch_);
    Query streams(db_.get(), "SELECT id, endpoint, channel FROM stream WHERE run = ? ORDER BY id");
    streams.i(1, run_);
    while (streams.next()) {
        auto endpoint = engine::endpoint_from_path(streams.s(1));
        if (!endpoint)
            throw RecordingError(
                fmt::format("{}: unknown endpoint '{}'", options_.path, streams.s(1)));
        streams_.emplace_back(streams.i(0), publisher.declare_stream(*endpoint, streams.s(2)));
    }
    thread_.start([this, &publisher] { run(publisher); });
}

void ReplaySource::stop() {
    thread_.stop();
}

void ReplaySource::run(engine::Publisher& publisher) {
    using namespace std::chrono;
    const bool paced = options_.speed > 0;
    const double scale = paced ? recorded_scale_ * options_.speed : 0.0;
    auto stream_of = [&](std::int64_t recorded) {
        for (auto& [r, id] : streams_)
            if (r == recorded) return id;
        throw RecordingError(
            fmt::format("{}: a message of an undeclared stream {}", options_.path, recorded));
    };
    bool first_pass = true;
    std::int64_t sim_offset = 0;  // added to `time` on later passes of --loop
    do {
        Query rows(db_.get(),
                   "SELECT stream, type, sim_ms, wall_us, payload FROM message WHERE run = ? ORDER "
                   "BY ord");
        rows.i(1, run_);
        const auto start = steady_clock::now();
        std::int64_t first_wall = 0, first_sim = 0, last_sim = 0;
        bool first_row = true;
        while (rows.next()) {
            const std::int64_t wall = rows.i(3), sim = rows.i(2);
            if (first_row) {
                first_wall = wall;
                first_sim = sim;
                first_row = false;
                if (first_pass) {
                    publisher.set_clock({sim, engine::wall_now_us(), scale});
                }
            }
            if (paced) {
                const auto due =
                    start + duration_cast<steady_clock::duration>(duration<double, std::micro>(
                                static_cast<double>(wall - first_wall) / options_.speed));
                if (!thread_.wait_until(due)) return;
            } else if (!thread_.running()) {
                return;
            }
            auto type = engine::message_type_from_name(rows.s(1));
            const auto data = data_of(rows.s(4));
            if (!type || data.empty()) continue;  // not a data message this build knows: skipped
            publisher.publish(stream_of(rows.i(0)), *type, sim + sim_offset, data);
            published_.fetch_add(1);
            last_sim = sim;
        }
        sim_offset += last_sim - first_sim + 1;
        first_pass = false;
    } while (options_.loop);
    finished_ = true;
}

}  // namespace streambed::recorder
