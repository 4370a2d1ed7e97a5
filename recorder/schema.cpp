// schema.cpp: DDL of version 2, the migration of version 1, and the checks made on opening.
#include "recorder/schema.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>

namespace streambed::recorder {
namespace {

// Version 2. `message` holds each published data message once (its exact bytes); an outbound
// frame that carried it refers to it by (stream, seq), so a payload delivered to a thousand
// sessions is stored once. Control and inbound frames keep their own text. A `frame_row` may
// stand for a run of deliveries (consecutive seqs of one stream, written together to one
// session); the `frame` view expands runs into one row per delivery, as version 1 stored them.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE run (
  id             INTEGER PRIMARY KEY,
  started_us     INTEGER NOT NULL,           -- wall clock, Unix µs
  ended_us       INTEGER,                    -- NULL: still recording, or the process died
  version        TEXT NOT NULL,              -- streambed version that recorded it
  seed           INTEGER,
  config         TEXT,                       -- the source's configuration, canonical JSON
  time_scale     REAL,                       -- simulated ms per wall ms (0: unpaced)
  complete       INTEGER NOT NULL DEFAULT 0, -- 1: flushed at a clean end with nothing dropped
  dropped_frames INTEGER NOT NULL DEFAULT 0, -- events not recorded (queue full, write errors)
  error          TEXT                        -- the first write error, if any
);
CREATE TABLE stream (
  run      INTEGER NOT NULL REFERENCES run(id),
  id       INTEGER NOT NULL,
  endpoint TEXT NOT NULL,
  channel  TEXT NOT NULL,
  PRIMARY KEY (run, id)
) WITHOUT ROWID;
CREATE TABLE message (
  run     INTEGER NOT NULL,
  stream  INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  ord     INTEGER NOT NULL,                  -- publish order within the run, all streams
  type    TEXT NOT NULL,
  sim_ms  INTEGER NOT NULL,
  wall_us INTEGER NOT NULL,
  payload BLOB NOT NULL,                     -- the frame text exactly as sent
  PRIMARY KEY (run, stream, seq)
) WITHOUT ROWID;
CREATE TABLE session (
  run          INTEGER NOT NULL,
  id           INTEGER NOT NULL,
  name         TEXT NOT NULL,                -- welcome.session
  endpoint     TEXT NOT NULL,
  peer         TEXT,
  target       TEXT,
  opened_us    INTEGER NOT NULL,
  closed_us    INTEGER,
  close_code   INTEGER,                      -- 1006: dropped without a close frame
  close_reason TEXT,
  PRIMARY KEY (run, id)
) WITHOUT ROWID;
-- Frames in the order they were recorded (rowid): appending keeps the writer fast; readers
-- order by (run, session, n, part), helped by frame_by_session once the run has ended.
CREATE TABLE frame_row (
  run     INTEGER NOT NULL,
  session INTEGER NOT NULL,
  n       INTEGER NOT NULL,                  -- frame number within the session, both directions
  part    INTEGER NOT NULL,                  -- message index within a ?batch=1 array frame
  dir     TEXT NOT NULL CHECK (dir IN ('in', 'out')),
  wall_us INTEGER NOT NULL,
  stream  INTEGER,                           -- with seq: a data message, see `message`
  seq     INTEGER,
  text    BLOB,                              -- otherwise: the frame text itself
  count   INTEGER NOT NULL DEFAULT 1,        -- deliveries of seq, seq+1, ... (1 to 256)
  step    INTEGER NOT NULL DEFAULT 0         -- 0: they are frames n, n+1, ...; 1: parts of frame n
);
)sql";

// The view readers query, one row per delivery, and the numbers it expands runs with.
constexpr const char* kFrameView = R"sql(
CREATE TABLE span (i INTEGER PRIMARY KEY);
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 255) INSERT INTO span SELECT i FROM k;
CREATE VIEW frame AS
  SELECT r.run, r.session, r.n + (1 - r.step) * s.i AS n, r.part + r.step * s.i AS part, r.dir, r.wall_us,
         r.stream, r.seq + s.i AS seq, r.text
  FROM frame_row r JOIN span s ON s.i < r.count;
)sql";

// Version 1 stored one row per delivery in the table `frame`: it becomes `frame_row`, every row
// a run of one, under the same view.
constexpr const char* kMigrateV1 = R"sql(
ALTER TABLE frame RENAME TO frame_row;
ALTER TABLE frame_row ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE frame_row ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
)sql";

int pragma_int(sqlite3* db, const char* pragma) {
    sqlite3_stmt* st = nullptr;
    int value = -1;
    if (sqlite3_prepare_v2(db, pragma, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        value = sqlite3_column_int(st, 0);
    const int rc = sqlite3_finalize(st);
    if (rc != SQLITE_OK) return -2;  // e.g. SQLITE_NOTADB
    return value;
}

int table_count(sqlite3* db) {
    return pragma_int(db, "SELECT count(*) FROM sqlite_schema");
}

// Refuses what is not a streambed recording this version reads (1 or 2); returns the version.
int check(sqlite3* db, const std::string& path) {
    const int tables = table_count(db);
    if (tables < 0)
        throw RecordingError(
            fmt::format("{}: not a streambed recording (not a SQLite database, or corrupt)", path));
    const int app = pragma_int(db, "PRAGMA application_id");
    const int version = pragma_int(db, "PRAGMA user_version");
    if (app != kApplicationId)
        throw RecordingError(fmt::format(
            "{}: not a streambed recording (a SQLite database of another application)", path));
    if (version > kSchemaVersion)
        throw RecordingError(
            fmt::format("{}: recording schema version {} is newer than this streambed reads ({}); "
                        "use a newer streambed",
                        path, version, kSchemaVersion));
    if (version < kOldestReadable)
        throw RecordingError(
            fmt::format("{}: recording schema version {} is older than {} and cannot be migrated",
                        path, version, kOldestReadable));
    return version;
}

// `name`: what SQLite opens (a path or a file: URI); `path`: the file, for messages.
Db open(const std::string& path, int flags, const std::string& name = {}) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(name.empty() ? path.c_str() : name.c_str(), &raw, flags, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK)
        throw RecordingError(fmt::format("{}: cannot open: {}", path,
                                         raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    sqlite3_busy_timeout(db.get(), 2000);
    sqlite3_extended_result_codes(db.get(), 1);
    return db;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// `file:` URI of a path (absolute, so that a relative one cannot read as an authority), with
// the characters URIs give a meaning percent-encoded.
std::string file_uri(const std::string& path) {
    std::string uri = "file://";
    for (char c : std::filesystem::absolute(path).string()) {
        if (c == '%' || c == '?' || c == '#' || c == '&' || c == '=' ||
            static_cast<unsigned char>(c) < 0x21)
            uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        else
            uri += c;
    }
    return uri;
}

Db open_without_side_files(const std::string& path) {
    // Read-only, and without side files. A recording with no write-ahead log beside it is
    // not being written (a writer keeps FILE-wal while it has the file open) and has nothing
    // to recover: it is opened immutable, which reads it where nothing can be written (a
    // read-only directory or filesystem) and creates no FILE-wal or FILE-shm. With a
    // FILE-wal (a writer still recording, or one that was killed) the log must be read too:
    // a plain read-only open, which shares the writer's FILE-shm.
    const bool has_log = exists(path + "-wal") || exists(path + "-journal");
    Db db = has_log ? open(path, SQLITE_OPEN_READONLY)
                    : open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                           file_uri(path) + "?immutable=1");
    if (has_log && table_count(db.get()) < 0 &&
        (sqlite3_extended_errcode(db.get()) & 0xff) == SQLITE_CANTOPEN)
        throw RecordingError(
            fmt::format("{}: its write-ahead log {}-wal cannot be read here (a read-only "
                        "directory?): copy both files somewhere writable",
                        path, path));
    return db;
}

}  // namespace

void check_integrity(sqlite3* db, const std::string& path) {
    // quick_check: every page, b-tree and record format; not the indexes' contents (what
    // integrity_check adds, at several times the cost). See docs/recording.md for its cost.
    sqlite3_stmt* st = nullptr;
    std::string problem;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, nullptr);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            auto text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            if (!text || std::string_view(text) != "ok") problem = text ? text : "unknown";
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE) problem = sqlite3_errmsg(db);
    sqlite3_finalize(st);
    // One line: SQLite's report spans several ("*** in database main ***\nPage 375: ...").
    if (const auto pos = problem.find("*** in database main ***"); pos != std::string::npos)
        problem.erase(pos, std::string_view("*** in database main ***").size());
    for (auto& c : problem)
        if (c == '\n' || c == '\r') c = ' ';
    if (const auto first = problem.find_first_not_of(' '); first != std::string::npos)
        problem.erase(0, first);
    if (!problem.empty())
        throw RecordingError(fmt::format(
            "{}: the recording is damaged ({}); nothing was written to it", path, problem));
}

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string message = err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        throw RecordingError(message);
    }
}

Db open_for_writing(const std::string& path) {
    struct stat st {};
    const bool present = ::stat(path.c_str(), &st) == 0;
    // A run is only appended to a sound recording: a damaged file is refused before anything
    // is written to it (appending would hide the damage until the whole file is unreadable).
    if (present && st.st_size > 0) {
        Db reader = open_without_side_files(path);
        const int tables = table_count(reader.get());
        if (tables < 0)
            throw RecordingError(fmt::format(
                "{}: not a streambed recording (not a SQLite database, or corrupt)", path));
        if (tables > 0) {
            check(reader.get(), path);
            check_integrity(reader.get(), path);
        }
    }
    // NOMUTEX: one connection per recording, used by one thread at a time (the writer).
    Db db = open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
    try {
        if (present && table_count(db.get()) != 0) {
            if (check(db.get(), path) < kSchemaVersion) {
                // Recording into a version-1 file migrates it (readers read both versions).
                exec(db.get(), "BEGIN");
                exec(db.get(), kMigrateV1);
                exec(db.get(), kFrameView);
                exec(db.get(), fmt::format("PRAGMA user_version = {};", kSchemaVersion).c_str());
                exec(db.get(), "COMMIT");
            }
        } else {
            if (table_count(db.get()) < 0)
                throw RecordingError(
                    fmt::format("{}: not a streambed recording (not a SQLite database)", path));
            exec(db.get(), "BEGIN");
            exec(db.get(), kSchemaV2);
            exec(db.get(), kFrameView);
            exec(db.get(), fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {};",
                                       kApplicationId, kSchemaVersion)
                               .c_str());
            exec(db.get(), "COMMIT");
        }
        // WAL: readers never block the writer; NORMAL: a commit survives the process being
        // killed (the WAL is in the OS's hands), fsync only at checkpoints. A larger cache and
        // fewer checkpoints keep the writer's batches fast.
        exec(db.get(),
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
             "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;");
    } catch (const RecordingError& e) {
        const std::string what = e.what();
        if (what.rfind(path, 0) == 0) throw;
        throw RecordingError(fmt::format("{}: cannot write: {}", path, what));
    }
    return db;
}

Db open_for_reading(const std::string& path) {
    if (!exists(path)) throw RecordingError(fmt::format("{}: no such recording", path));
    Db db = open_without_side_files(path);
    check(db.get(), path);
    if (pragma_int(db.get(), "SELECT count(*) FROM run") < 0)
        throw RecordingError(
            fmt::format("{}: the recording is damaged (cannot read its runs)", path));
    return db;
}

}  // namespace streambed::recorder
