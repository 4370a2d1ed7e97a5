// verify.hpp: what `verify` reads and compares — a recorded run's client sessions (where each
// connected, when, what it sent, what it received) against what the same sessions receive from
// a fresh server. The rules are in docs/recording.md ("Verifying a recording"); the re-drive
// itself (sockets) is in session_driver.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/source.hpp"
#include "recorder/schema.hpp"

namespace streambed::recorder {

// A recorded client session: where it connected, when, and what it sent.
struct RecordedSession {
    struct Sent {
        std::int64_t frame = 0;  // the frame's number in the session
        std::int64_t wall_us = 0;
        std::string text;
    };
    std::int64_t id = 0;
    std::string name;      // as in its welcome
    std::string endpoint;  // "/ws/channels"
    std::string target;    // the upgrade request's target, query included
    std::int64_t opened_us = 0;
    std::int64_t end_us = 0;  // closed_us, or the run's end when it never closed
    std::optional<int> close_code;
    std::string close_reason;
    std::vector<Sent> sent;
};

// One frame the re-driven client received; wall_us is on the recording's timeline.
struct ReceivedFrame {
    std::int64_t wall_us = 0;
    std::string text;
};

// What a re-driven session got back.
struct Observed {
    std::string error;  // non-empty: it could not connect, and why
    std::vector<ReceivedFrame> frames;
    int server_close_code = 0;  // the server closed it before the client did: its code
    std::string server_close_reason;
    std::int64_t server_closed_us = 0;  // on the recording's timeline
};

struct Difference {
    std::int64_t frame = 0;  // the recorded frame number (as `export` numbers it) where it shows
    std::string expected;
    std::string got;
};

struct SessionVerdict {
    std::optional<Difference> difference;  // the first one, by recorded frame number
    std::uint64_t compared = 0;            // recorded outbound frames (rows) matched
};

class RecordedRun {
  public:
    // Opens the recording read-only and picks the run (default: the latest); throws
    // RecordingError for a missing, foreign or damaged file and an unknown run.
    RecordedRun(const std::string& path, std::optional<std::int64_t> run);
    ~RecordedRun();
    RecordedRun(const RecordedRun&) = delete;
    RecordedRun& operator=(const RecordedRun&) = delete;

    const std::string& path() const { return path_; }
    std::int64_t id() const { return id_; }
    std::uint64_t seed() const { return seed_; }
    const std::string& config() const { return config_; }  // canonical JSON; may be empty
    double time_scale() const { return time_scale_; }      // 0: recorded unpaced
    std::int64_t started_us() const { return started_us_; }
    std::int64_t dropped() const { return dropped_; }
    // A recorded (simulated ms, wall µs) pair: from the first welcome's clock, else from the
    // first published message; nullopt when the run holds neither.
    const std::optional<engine::ClockAnchor>& clock() const { return clock_; }
    // welcome.heartbeatMs as recorded (0: no welcome recorded).
    std::int64_t heartbeat_ms() const { return heartbeat_ms_; }
    // Every session of the run, in opening order, with the frames it sent.
    const std::vector<RecordedSession>& sessions() const { return sessions_; }

    // Compares what `session` received when it was recorded with `observed`. `tolerance_us`
    // (wall time) is how much later than recorded a reply may arrive, and how far the edges of
    // a subscription may move (`verify --tolerance`, kDefaultToleranceUs unless given).
    static constexpr std::int64_t kDefaultToleranceUs = 500'000;  // a busy CI machine's jitter
    SessionVerdict compare(const RecordedSession& session, const Observed& observed,
                           std::int64_t tolerance_us);

  private:
    struct Lookup;

    std::string path_;
    Db db_;
    std::int64_t id_ = 0;
    std::uint64_t seed_ = 0;
    std::string config_;
    double time_scale_ = 1.0;
    std::int64_t started_us_ = 0;
    std::int64_t dropped_ = 0;
    std::optional<engine::ClockAnchor> clock_;
    std::int64_t heartbeat_ms_ = 0;
    std::vector<RecordedSession> sessions_;
    std::map<std::pair<std::string, std::string>, std::int64_t> streams_;  // (endpoint, channel)
    std::unique_ptr<Lookup> lookup_;
};

}  // namespace streambed::recorder
