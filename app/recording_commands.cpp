// recording_commands.cpp: inspect (runs, sessions, streams, counts, sizes, time span; --json)
// and export (JSON lines, one frame a line). A missing, foreign or damaged file: exit 2.
#include "app/recording_commands.hpp"

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <optional>

#include "recorder/reader.hpp"
#include "recorder/schema.hpp"

namespace streambed::app {

std::function<int()> add_inspect_command(CLI::App& app) {
    struct Args {
        std::string file;
        bool json = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand(
        "inspect", "What a recording holds: runs, sessions, streams, counts, sizes");
    cmd->add_option("file", a->file, "the recording (FILE.db)")->required();
    cmd->add_flag("--json", a->json, "machine-readable output");
    return [a] {
        try {
            auto summary = recorder::inspect(a->file);
            if (a->json)
                fmt::print("{}\n", summary.dump(2));
            else
                fmt::print("{}", recorder::describe(summary));
            return 0;
        } catch (const recorder::RecordingError& e) {
            fmt::print(stderr, "streambed inspect: {}\n", e.what());
            return 2;
        }
    };
}

std::function<int()> add_export_command(CLI::App& app) {
    struct Args {
        std::string file;
        std::optional<std::int64_t> run;
        std::string format = "jsonl";
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("export", "Frames of a recording as JSON lines, or a HAR file");
    cmd->add_option("file", a->file, "the recording (FILE.db)")->required();
    cmd->add_option("--run", a->run, "only this run");
    cmd->add_option("--format", a->format,
                    "jsonl (one frame a line) or har (HAR 1.2 with _webSocketMessages)")
        ->check(CLI::IsMember({"jsonl", "har"}))
        ->capture_default_str();
    return [a] {
        try {
            if (a->format == "har")
                recorder::export_har(a->file, a->run, std::cout);
            else
                recorder::export_jsonl(a->file, a->run, std::cout);
            std::cout.flush();
            return 0;
        } catch (const recorder::RecordingError& e) {
            fmt::print(stderr, "streambed export: {}\n", e.what());
            return 2;
        }
    };
}

}  // namespace streambed::app
