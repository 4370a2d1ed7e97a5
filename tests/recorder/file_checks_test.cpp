// file_checks_test.cpp: which files the recorder and its readers accept — missing, garbage,
// truncated, foreign and other-version files refused by name, a version-one file read as is and
// migrated when recorded into, an unwritable place named.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "recorder/reader.hpp"
#include "recorder/recorder.hpp"
#include "tests/recorder/recording_checks.hpp"
#include "tests/support/temp_db.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;
using recorder::Recorder;
using recorder::RecordingError;

TEST(RecordingFiles, MissingFileIsRefusedAndNotCreated) {
    TempDb file("missing");
    EXPECT_NE(error_of([&] { recorder::inspect(file.path); }).find("no such recording"),
              std::string::npos);
    EXPECT_FALSE(file.exists());
}

TEST(RecordingFiles, GarbageIsNotARecording) {
    TempDb file("garbage");
    std::ofstream(file.path) << std::string(4096, 'z');
    EXPECT_NE(error_of([&] { recorder::inspect(file.path); }).find("not a streambed recording"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  Recorder(file.path, {"test", 1, "{}"});
              }).find("not a streambed recording"),
              std::string::npos);
    // Nothing was written into it.
    std::ifstream in(file.path);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, std::string(4096, 'z'));
}

TEST(RecordingFiles, TruncatedRecordingIsRefusedClearly) {
    TempDb file("truncated");
    { Recorder(file.path, {"test", 1, "{}"}).finish(); }
    ::truncate(file.path.c_str(), 1000);
    const auto err = error_of([&] {
        auto s = recorder::inspect(file.path);
        std::stringstream out;
        recorder::export_jsonl(file.path, std::nullopt, out);
    });
    EXPECT_NE(err.find(file.path.substr(file.path.rfind('/') + 1)), std::string::npos) << err;
}

void make_db(const std::string& path, int app_id, int version) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db,
                 ("CREATE TABLE t(x); PRAGMA application_id = " + std::to_string(app_id) +
                  "; PRAGMA user_version = " + std::to_string(version) + ";")
                     .c_str(),
                 nullptr, nullptr, nullptr);
    sqlite3_close(db);
}

TEST(RecordingFiles, ForeignDatabaseIsRefused) {
    TempDb file("foreign");
    make_db(file.path, 0, 0);
    EXPECT_NE(error_of([&] { recorder::inspect(file.path); }).find("another application"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  Recorder(file.path, {"test", 1, "{}"});
              }).find("another application"),
              std::string::npos);
}

TEST(RecordingFiles, OtherSchemaVersionsAreRefusedByName) {
    TempDb older("older"), newer("newer");
    make_db(older.path, recorder::kApplicationId, 0);
    make_db(newer.path, recorder::kApplicationId, recorder::kSchemaVersion + 1);
    EXPECT_NE(error_of([&] { recorder::inspect(older.path); }).find("older"), std::string::npos);
    EXPECT_NE(error_of([&] { recorder::inspect(newer.path); }).find("newer"), std::string::npos);
    EXPECT_NE(error_of([&] {
                  Recorder(newer.path, {"test", 1, "{}"});
              }).find("newer"),
              std::string::npos);
}

void make_v1(const std::string& path) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, R"sql(
CREATE TABLE run (id INTEGER PRIMARY KEY, started_us INTEGER NOT NULL, ended_us INTEGER, version TEXT NOT NULL,
  seed INTEGER, config TEXT, time_scale REAL, complete INTEGER NOT NULL DEFAULT 0,
  dropped_frames INTEGER NOT NULL DEFAULT 0, error TEXT);
CREATE TABLE stream (run INTEGER NOT NULL, id INTEGER NOT NULL, endpoint TEXT NOT NULL, channel TEXT NOT NULL,
  PRIMARY KEY (run, id)) WITHOUT ROWID;
CREATE TABLE message (run INTEGER NOT NULL, stream INTEGER NOT NULL, seq INTEGER NOT NULL, ord INTEGER NOT NULL,
  type TEXT NOT NULL, sim_ms INTEGER NOT NULL, wall_us INTEGER NOT NULL, payload BLOB NOT NULL,
  PRIMARY KEY (run, stream, seq)) WITHOUT ROWID;
CREATE TABLE session (run INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL, endpoint TEXT NOT NULL,
  peer TEXT, target TEXT, opened_us INTEGER NOT NULL, closed_us INTEGER, close_code INTEGER, close_reason TEXT,
  PRIMARY KEY (run, id)) WITHOUT ROWID;
CREATE TABLE frame (run INTEGER NOT NULL, session INTEGER NOT NULL, n INTEGER NOT NULL, part INTEGER NOT NULL,
  dir TEXT NOT NULL CHECK (dir IN ('in', 'out')), wall_us INTEGER NOT NULL, stream INTEGER, seq INTEGER, text BLOB);
INSERT INTO run VALUES (1, 1, 2, 'streambed 0.1.0', 42, '{}', 1.0, 1, 0, NULL);
INSERT INTO stream VALUES (1, 0, '/ws/metrics', 'metrics');
INSERT INTO message VALUES (1, 0, 1, 1, 'metrics', 10, 1, CAST('{"type":"metrics","seq":1}' AS BLOB));
INSERT INTO message VALUES (1, 0, 2, 2, 'metrics', 20, 2, CAST('{"type":"metrics","seq":2}' AS BLOB));
INSERT INTO session VALUES (1, 1, 's-1', '/ws/metrics', '127.0.0.1:1', '/ws/metrics', 1, 2, 1000, '');
INSERT INTO frame VALUES (1, 1, 0, 0, 'out', 1, NULL, NULL, CAST('{"type":"welcome"}' AS BLOB));
INSERT INTO frame VALUES (1, 1, 1, 0, 'out', 1, 0, 1, NULL);
INSERT INTO frame VALUES (1, 1, 2, 0, 'out', 2, 0, 2, NULL);
CREATE INDEX frame_by_session ON frame (run, session, n, part);
PRAGMA application_id = 1396852036; PRAGMA user_version = 1;)sql",
                 nullptr, nullptr, nullptr);
    sqlite3_close(db);
}

TEST(RecordingFiles, AVersionOneFileIsReadAsIsAndMigratedWhenRecordedInto) {
    TempDb file("v1");
    make_v1(file.path);
    ASSERT_EQ(scalar(file.path, "PRAGMA application_id"), recorder::kApplicationId);
    // Read as is: nothing written.
    EXPECT_EQ(recorder::inspect(file.path)["runs"][0]["frames"]["total"], 3);
    EXPECT_EQ(exported(file.path).size(), 3u);
    EXPECT_EQ(scalar(file.path, "PRAGMA user_version"), 1);
    // Recording a new run migrates it; the old run reads the same.
    {
        Recorder rec(file.path, {"test", 1, "{}"});
        rec.finish();
    }
    EXPECT_EQ(scalar(file.path, "PRAGMA user_version"), recorder::kSchemaVersion);
    EXPECT_EQ(scalar(file.path, "SELECT count(*) FROM frame_row"), 3);
    const auto lines = exported(file.path);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[1]["payload"], R"({"type":"metrics","seq":1})");
    EXPECT_EQ(lines[2]["seq"], 2);
    EXPECT_EQ(recorder::inspect(file.path)["runs"].size(), 2u);
}

TEST(RecordingFiles, UnwritablePlaceIsAClearError) {
    const std::string path = "/proc/self/streambed-cannot-write-here.db";
    const auto err = error_of([&] { Recorder(path, {"test", 1, "{}"}); });
    EXPECT_NE(err.find(path), std::string::npos) << err;
}

}  // namespace
}  // namespace streambed::testing
