// server_handle.cpp: the child-process server (bench::ServerProcess behind ServerHandle).
#include "runner/server_handle.hpp"

#include <chrono>

#include "bench/server_process.hpp"

namespace streambed::runner {
namespace {

class ChildServer : public ServerHandle {
  public:
    ChildServer(const std::string& program, const std::vector<std::string>& args,
                std::uint16_t port)
        : process_(program, args, std::chrono::seconds(20), port) {}
    std::uint16_t port() const override { return process_.port(); }
    int pid() const override { return process_.pid() > 0 ? process_.pid() : 0; }
    void stop() override { process_.stop(); }  // SIGTERM: the recording is flushed
    void kill() override { process_.kill_now(); }

  private:
    bench::ServerProcess process_;
};

}  // namespace

ServerFactory child_server(std::string program) {
    return
        [program = std::move(program)](const std::vector<std::string>& args, std::uint16_t port) {
            return std::make_unique<ChildServer>(program, args, port);
        };
}

}  // namespace streambed::runner
