// seq_tracker.hpp: what one client received of one stream, by seq — distinct messages,
// duplicates, and the holes left, each hole marked with why it is allowed (conflation of a
// state stream while connected, a `reset` the server declared) or not (a gap). Messages mostly
// arrive in order, so the holes list stays short; its memory is bounded by kMaxHoles.
#pragma once

#include <cstdint>
#include <vector>

namespace streambed::fleet {

// gap: owed and missing. conflated: state seqs the server's conflation skipped. declared: skipped
// after a `reset`. unowed: events between a snapshot and the first live message, published
// before the subscription began: never owed to the client, so not counted as expected either.
enum class HoleKind : std::uint8_t { gap, conflated, declared, unowed };

struct SeqCounts {
    std::uint64_t distinct = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t gaps = 0;       // seqs missing, not declared nor conflated
    std::uint64_t conflated = 0;  // state seqs skipped by the server's conflation
    std::uint64_t declared = 0;   // seqs skipped after a `reset`
    std::uint64_t expected =
        0;  // seqs owed: from the first received to the span's end, less unowed ones
};

class SeqTracker {
  public:
    // Holes beyond this many are merged into a gap count (a pathological stream).
    static constexpr std::size_t kMaxHoles = 4096;

    // A message with `seq`; `skip_kind` says what a jump over missing seqs before it means.
    // Returns false for a duplicate.
    bool receive(std::uint64_t seq, HoleKind skip_kind);

    bool empty() const { return last_ == 0; }
    std::uint64_t first() const { return first_; }
    std::uint64_t last() const { return last_; }

    // The counts, with the span closed at `end` (the stream's final seq; seqs after last()
    // are missing at the end of the run and count as gaps). end <= last() counts nothing more.
    SeqCounts counts(std::uint64_t end) const;

  private:
    struct Hole {
        std::uint64_t lo, hi;  // inclusive
        HoleKind kind;
    };
    bool fill(std::uint64_t seq);  // true when seq was in a hole (now filled)

    std::uint64_t first_ = 0, last_ = 0;
    std::uint64_t distinct_ = 0, duplicates_ = 0, overflow_gaps_ = 0;
    std::vector<Hole> holes_;
};

}  // namespace streambed::fleet
