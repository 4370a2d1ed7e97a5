// schema.hpp: the recording file format (SQLite), version 1 — see docs/recording.md. Opening
// checks that a file is a streambed recording of a version this build reads; nothing is ever
// created by a reader.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace streambed::recorder {

inline constexpr int kSchemaVersion = 2;
inline constexpr int kOldestReadable =
    1;  // version 1 is read as is, and migrated when recorded into
inline constexpr int kApplicationId = 0x53424544;  // "SBED"

// A recording that cannot be opened, read or written; the message says why and names the file.
struct RecordingError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct DbClose {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;

// Opens (creating when missing) a recording for writing: WAL, schema created or checked; an
// existing file must pass check_integrity() first, and is left untouched when it does not.
Db open_for_writing(const std::string& path);
// Opens an existing recording read-only, creating no side files (immutable when no writer's
// log is beside it); refuses missing, foreign, corrupt and other-version files.
Db open_for_reading(const std::string& path);

// Refuses a damaged recording (SQLite's quick_check), naming the file; reads only.
void check_integrity(sqlite3* db, const std::string& path);

// Runs SQL without results; throws RecordingError with SQLite's message.
void exec(sqlite3* db, const char* sql);

}  // namespace streambed::recorder
