// recording_fuzz.cpp: the recording reader (recorder/reader.hpp: `inspect`, `export`) on damaged
// SQLite files — the input is written to a file, which is then inspected and exported as JSON
// Lines and HAR. Each either works or throws RecordingError naming the file; nothing else
// escapes, and the reader leaves no side file (-wal, -shm, -journal) beside the recording.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fuzz/fuzz_check.hpp"
#include "recorder/reader.hpp"
#include "recorder/schema.hpp"

using namespace streambed;
namespace fs = std::filesystem;

namespace {

const std::string& path() {
    static const std::string p =
        (fs::temp_directory_path() / ("streambed-fuzz-" + std::to_string(::getpid()) + ".db"))
            .string();
    return p;
}

template <class Read>
void read_or_refuse(Read read) {
    try {
        read();
    } catch (const recorder::RecordingError& e) {
        fuzz::check(std::string_view(e.what()).find(path()) != std::string_view::npos,
                    "a RecordingError that does not name the file", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    {
        std::ofstream out(path(), std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        fuzz::check(static_cast<bool>(out), "cannot write the input file");
    }
    read_or_refuse([] { (void)recorder::describe(recorder::inspect(path())); });
    read_or_refuse([] {
        std::ostringstream sink;
        (void)recorder::export_jsonl(path(), std::nullopt, sink);
    });
    read_or_refuse([] {
        std::ostringstream sink;
        (void)recorder::export_har(path(), std::nullopt, sink);
    });
    for (const char* side : {"-wal", "-shm", "-journal"})
        fuzz::check(!fs::exists(path() + side), "the reader left a side file", side);
    fs::remove(path());
    return 0;
}
