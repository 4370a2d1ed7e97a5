// redis_process.hpp: the Redis server of a cluster scenario — Debian's `redis-server` as a child
// process on a free port, without persistence (`--save ''`, `--appendonly no`: a restart comes
// back empty, as a lost Redis would), in a temporary folder of its own that goes with it. It
// dies with the runner (PR_SET_PDEATHSIG), even when the runner is killed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace streambed::runner {

// The redis-server on PATH, or nullopt (a cluster scenario is then skipped, saying so).
std::optional<std::string> find_redis_server();

class RedisProcess {
  public:
    // Starts `program` on a free port (a few ports are tried: another process may take one
    // between the check and the bind) and returns once it answers PING; throws
    // std::runtime_error saying why it did not start.
    explicit RedisProcess(std::string program);
    ~RedisProcess();  // killed, its folder removed
    RedisProcess(const RedisProcess&) = delete;
    RedisProcess& operator=(const RedisProcess&) = delete;

    std::uint16_t port() const { return port_; }
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    void kill();   // SIGKILL and wait: everything it held is gone
    void start();  // again, on the same port (throws when it does not answer in time)

  private:
    bool spawn();  // false when it exited or did not answer within the deadline

    std::string program_, dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace streambed::runner
