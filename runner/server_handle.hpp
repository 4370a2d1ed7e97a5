// server_handle.hpp: the server a run drives, wherever it runs — a `streambed serve` child
// process (the default: a real crash is a real SIGKILL) or, with `run --in-process`, a server in
// the runner's own process (one process for a debugger or a sanitizer to see both sides).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace streambed::runner {

class ServerHandle {
  public:
    virtual ~ServerHandle() = default;
    virtual std::uint16_t port() const = 0;
    // The process to sample for memory; 0 when the server shares this one (its RSS is then not
    // the server's alone).
    virtual int pid() const = 0;
    virtual void stop() = 0;  // graceful: clients get 1001, the recording is flushed
    virtual void kill() = 0;  // a crash: connections close with no close frame
};

// Starts a server with `serve` ARGS on `port` (0: a free one) and returns once it listens;
// throws std::runtime_error saying why it did not start.
using ServerFactory = std::function<std::unique_ptr<ServerHandle>(
    const std::vector<std::string>& args, std::uint16_t port)>;

// `program serve --port PORT ARGS...` as a child process.
ServerFactory child_server(std::string program);

}  // namespace streambed::runner
