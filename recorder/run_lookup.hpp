// run_lookup.hpp: the queries `verify`'s comparison asks of a recorded run — a data message's
// bytes and simulated time by (stream, seq), and a stream's last seq.
#pragma once

#include <cstdint>
#include <map>

#include "recorder/statement.hpp"
#include "recorder/verify.hpp"

namespace streambed::recorder {

// Data messages of the run by (stream, seq): bytes and simulated time.
struct RecordedRun::Lookup {
    explicit Lookup(sqlite3* db)
        : message(db,
                  "SELECT sim_ms, payload FROM message WHERE run = ? AND stream = ? AND seq = ?"),
          last(db, "SELECT max(seq) FROM message WHERE run = ? AND stream = ?") {}
    Query message, last;
    std::map<std::int64_t, std::uint64_t> last_seq;  // per stream, cached
};

}  // namespace streambed::recorder
