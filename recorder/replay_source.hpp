// replay_source.hpp: a recorded run's data streams, published again through the engine — the
// same streams, seqs and bytes, paced by the recorded publish times divided by the speed.
// The engine cannot tell it from the simulator.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/source.hpp"
#include "engine/source_thread.hpp"
#include "recorder/schema.hpp"

namespace streambed::recorder {

struct ReplayOptions {
    std::string path;
    std::optional<std::int64_t> run;  // default: the latest run
    double speed = 1.0;               // recorded pacing divided by this; <= 0: as fast as possible
    bool loop = false;                // start over at the end (seqs keep increasing)
};

class ReplaySource final : public engine::Source {
  public:
    // Opens the recording and picks the run; throws RecordingError (no such run, no data).
    explicit ReplaySource(ReplayOptions options);
    ~ReplaySource() override;

    void start(engine::Publisher& publisher) override;
    void stop() override;

    std::int64_t run_id() const { return run_; }
    // "replay-" and the xxHash64 of the run's identity in the file: its id, start instant,
    // version, seed and configuration. The same recording and run give the same epoch whatever
    // the speed, the loop or the file's name; the original server's epoch is not reused, since
    // its world goes on where the recording ends.
    const std::string& epoch() const { return epoch_; }
    std::uint64_t messages() const { return total_; }  // in the recorded run
    std::uint64_t published() const { return published_.load(); }
    bool finished() const { return finished_.load(); }  // the last message is out (no loop)

  private:
    void run(engine::Publisher& publisher);

    ReplayOptions options_;
    Db db_;
    std::int64_t run_ = 0;
    std::uint64_t total_ = 0;
    double recorded_scale_ = 1.0;
    std::string epoch_;
    std::vector<std::pair<std::int64_t, engine::StreamId>> streams_;  // recorded id -> engine id
    engine::SourceThread thread_;
    std::atomic<std::uint64_t> published_{0};
    std::atomic<bool> finished_{false};
};

}  // namespace streambed::recorder
