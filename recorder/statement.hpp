// statement.hpp: a prepared SQLite statement — binding by position, stepping, reading columns —
// shared by the writer, the readers and replay. Errors become RecordingError with SQLite's text.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "recorder/schema.hpp"

namespace streambed::recorder {

// The context of a read that fails in a file that passed the open checks: damage, naming the
// file (its full path, as SQLite holds it).
inline std::string damaged(sqlite3* db) {
    const char* file = sqlite3_db_filename(db, "main");
    return std::string(file && *file ? file : "the recording") + ": the recording is damaged: ";
}

class Statement {
  public:
    // `context` prefixes error messages, e.g. "the recording is damaged: ".
    Statement(sqlite3* db, const char* sql, std::string context = {})
        : db_(db), context_(std::move(context)) {
        if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) fail();
    }
    ~Statement() { sqlite3_finalize(st_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Binding (columns from 1). The *_static forms do not copy: the value must outlive step.
    Statement& i(int col, std::int64_t v) { return check(sqlite3_bind_int64(st_, col, v)); }
    Statement& d(int col, double v) { return check(sqlite3_bind_double(st_, col, v)); }
    Statement& null(int col) { return check(sqlite3_bind_null(st_, col)); }
    Statement& t(int col, std::string_view v) {
        return check(
            sqlite3_bind_text(st_, col, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    }
    Statement& t_static(int col, std::string_view v) {
        return check(
            sqlite3_bind_text(st_, col, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    }
    Statement& b_static(int col, std::string_view v) {
        return check(
            sqlite3_bind_blob(st_, col, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    }

    // Writes: one step, then ready for the next bindings. Throws unless SQLITE_DONE.
    void run() {
        const int rc = sqlite3_step(st_);
        sqlite3_reset(st_);
        sqlite3_clear_bindings(st_);
        if (rc != SQLITE_DONE) fail();
    }
    // Queries: the next row, or false at the end.
    bool next() {
        const int rc = sqlite3_step(st_);
        if (rc == SQLITE_ROW) return true;
        if (rc != SQLITE_DONE) fail();
        return false;
    }

    // Ready for new bindings after a query that may not have reached its end.
    void reset() {
        sqlite3_reset(st_);
        sqlite3_clear_bindings(st_);
    }

    // Reading the current row (columns from 0). s() is valid until the next step.
    std::int64_t i(int col) const { return sqlite3_column_int64(st_, col); }
    double d(int col) const { return sqlite3_column_double(st_, col); }
    bool is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
    std::string_view s(int col) const {
        auto p = static_cast<const char*>(sqlite3_column_blob(st_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st_, col)))
                 : std::string_view();
    }

  private:
    Statement& check(int rc) {
        if (rc != SQLITE_OK) fail();
        return *this;
    }
    [[noreturn]] void fail() const { throw RecordingError(context_ + sqlite3_errmsg(db_)); }

    sqlite3* db_;
    std::string context_;
    sqlite3_stmt* st_ = nullptr;
};

// A read of a file that passed the open checks: a failure here means damage, and says so
// naming the file.
class Query : public Statement {
  public:
    Query(sqlite3* db, const char* sql) : Statement(db, sql, damaged(db)) {}
    Query& bind(int col, std::int64_t v) {
        Statement::i(col, v);
        return *this;
    }
    using Statement::i;
    std::string str(int col) const { return std::string(s(col)); }
};

}  // namespace streambed::recorder
