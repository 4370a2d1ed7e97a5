// frame_inserter.hpp: the recorder's writer inserting frame rows many to a statement — rows are
// buffered and stepped kRowsPerInsert at a time, the rest one by one at flush().
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/message.hpp"
#include "recorder/statement.hpp"

namespace streambed::recorder {

// Frame rows go into SQLite this many at a time: one statement step for many rows is the
// cheapest way in (11 parameters a row, far below SQLite's limit of 32,766).
constexpr int kRowsPerInsert = 32;
constexpr int kFrameColumns = 11;
inline std::string multi_row_insert(int rows) {
    std::string sql =
        "INSERT INTO frame_row (run, session, n, part, dir, wall_us, stream, seq, text, count, "
        "step) VALUES ";
    for (int r = 0; r < rows; ++r)
        sql += r ? ",(?,?,?,?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?,?,?,?)";
    return sql;
}

// Buffers frame rows and inserts them kRowsPerInsert at a time (the rest one by one at flush()).
// The rows' text must stay valid until flush(): it points into the batch's events.
class FrameInserter {
  public:
    FrameInserter(sqlite3* db, std::int64_t run)
        : run_(run),
          many_(db, multi_row_insert(kRowsPerInsert).c_str()),
          one_(db, multi_row_insert(1).c_str()) {}

    void add(std::int64_t session, std::int64_t n, std::int64_t part, bool out,
             std::int64_t wall_us, const engine::Message* data, std::string_view text,
             std::int64_t run = 1, bool parts = false) {
        rows_[count_++] = {session, n, part, out, wall_us, data, text, run, parts};
        if (count_ == kRowsPerInsert) {
            for (int r = 0; r < kRowsPerInsert; ++r) bind(many_, r * kFrameColumns, rows_[r]);
            many_.run();
            count_ = 0;
        }
    }
    void flush() {
        for (int r = 0; r < count_; ++r) {
            bind(one_, 0, rows_[r]);
            one_.run();
        }
        count_ = 0;
    }

  private:
    struct Row {
        std::int64_t session, n, part;
        bool out;
        std::int64_t wall_us;
        const engine::Message* data;  // a data message: stream and seq; else the frame's text
        std::string_view text;
        std::int64_t run;  // deliveries from data's seq on
        bool parts;        // the run is parts of frame n (else frames n, n+1, ...)
    };
    void bind(Statement& st, int base, const Row& row) {
        st.i(base + 1, run_)
            .i(base + 2, row.session)
            .i(base + 3, row.n)
            .i(base + 4, row.part)
            .t_static(base + 5, row.out ? "out" : "in")
            .i(base + 6, row.wall_us);
        if (row.data)
            st.i(base + 7, row.data->stream)
                .i(base + 8, static_cast<std::int64_t>(row.data->seq))
                .null(base + 9);
        else
            st.null(base + 7).null(base + 8).b_static(base + 9, row.text);
        st.i(base + 10, row.run).i(base + 11, row.parts ? 1 : 0);
    }

    std::int64_t run_;
    Statement many_, one_;
    std::array<Row, kRowsPerInsert> rows_{};
    int count_ = 0;
};

}  // namespace streambed::recorder
