// temp_db.hpp: a recording file in the test's temporary folder (removed with its -wal and -shm
// before and after), and one-value SQL queries on such a file.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace streambed::testing {

struct TempDb {
    std::string path;
    // NAME-PID.db: tests of one binary run in parallel processes (ctest -j), each its own file.
    explicit TempDb(const std::string& name)
        : path(::testing::TempDir() + "/" + name + "-" + std::to_string(::getpid()) + ".db") {
        clean();
    }
    ~TempDb() { clean(); }
    TempDb(const TempDb&) = delete;
    TempDb& operator=(const TempDb&) = delete;

    void clean() const {
        for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    }
    // A copy of `from` (a recording closed cleanly: nothing left in its WAL).
    void copy_of(const std::string& from) const {
        clean();
        std::filesystem::copy_file(from, path);
    }
    bool exists() const { return ::access(path.c_str(), F_OK) == 0; }
};

// Read-write lets SQLite recover a WAL left by a killed writer; read-only proves nothing is
// written.
enum class SqlOpen { read_write, read_only };

// The first column of the first row, byte for byte: "NULL", "<none>" without a row,
// "<error: …>" when the statement fails.
inline std::string sql_text(const std::string& path, const std::string& statement,
                            SqlOpen mode = SqlOpen::read_write) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db,
                    mode == SqlOpen::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE,
                    nullptr);
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, statement.c_str(), -1, &st, nullptr) == SQLITE_OK) {
        const int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            out = sqlite3_column_type(st, 0) == SQLITE_NULL
                      ? "NULL"
                      : std::string(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                                    static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
        else if (rc == SQLITE_DONE)
            out = "<none>";
        else
            out = "<error: " + std::string(sqlite3_errmsg(db)) + ">";
    } else {
        out = "<error: " + std::string(sqlite3_errmsg(db)) + ">";
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

// The first column of the first row as an integer; -1 without a row or on failure.
inline std::int64_t sql_int(const std::string& path, const std::string& statement,
                            SqlOpen mode = SqlOpen::read_write) {
    const auto text = sql_text(path, statement, mode);
    try {
        std::size_t used = 0;
        const auto v = std::stoll(text, &used);
        return used == text.size() ? v : -1;
    } catch (const std::exception&) {
        return -1;
    }
}

}  // namespace streambed::testing
