// serve_command.hpp: `streambed serve` — the server with the simulator feeding it, optionally
// recording. Its options and their checking are shared with the scenario runner's in-process
// server (app/in_process_server.cpp), which takes the very arguments the child would.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "app/server_runner.hpp"
#include "engine/source.hpp"
#include "recorder/recorder.hpp"
#include "simulator/config.hpp"

namespace streambed::app {

struct ServeArgs {
    ServerArgs server;
    std::optional<std::uint64_t> seed;
    std::string time_scale = "1";
    std::string record;
    std::string config;
    std::string flood;
    std::string clock_start;  // Unix ms; checked against the wall clock when the command runs
    std::string stop_after;
    std::string redis;  // redis://HOST:PORT[/DB]: join a cluster (docs/scale-out.md)
    std::string cluster = "streambed";    // the cluster's name: the prefix of its Redis keys
    std::string lease_ttl = "1s";         // cluster/cluster_options.hpp gives the reason
    std::string checkpoint_every = "1m";  // simulated; cluster/cluster_options.hpp: the reason
};

void add_serve_options(CLI::App* cmd, ServeArgs& args);

// What the options make: the world's configuration, the recording (opened) and the source.
struct ServeParts {
    simulator::SimConfig sim;
    std::unique_ptr<recorder::Recorder> recording;
    std::unique_ptr<engine::Source> source;
};

// nullopt, and `error` naming the problem, when the options do not make a server.
std::optional<ServeParts> prepare_serve(ServeArgs& args, std::string& error);

// Adds the subcommand; the returned function runs it once the command line is parsed.
std::function<int()> add_serve_command(CLI::App& app);

}  // namespace streambed::app
