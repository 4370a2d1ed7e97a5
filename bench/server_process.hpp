// server_process.hpp: a `streambed serve` child process for benchmarks — started on port 0,
// its port read from the listening line, sampled through /proc, stopped with SIGTERM.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace streambed::bench {

class ServerProcess {
  public:
    // Runs `program serve --port PORT ARGS...` (0: a free port); throws std::runtime_error when
    // it does not listen within the deadline, with the last line of its log when it gave up.
    // The child's log (stderr) is passed on to this process's.
    ServerProcess(const std::string& program, const std::vector<std::string>& args,
                  std::chrono::milliseconds deadline = std::chrono::seconds(20),
                  std::uint16_t port = 0);
    ~ServerProcess();  // SIGTERM, then SIGKILL after 5 s
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    int stop();      // SIGTERM and wait; returns the exit status
    int kill_now();  // SIGKILL and wait (a crash, for fault scenarios)

  private:
    void reap_stderr();  // after the child is gone: the log's last bytes passed on

    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    int stderr_fd_ = -1;  // the child's log, passed on to ours by stderr_thread_
    std::thread stderr_thread_;
    std::uint16_t port_ = 0;
};

// From /proc/PID: resident memory in bytes, and user+system CPU seconds.
std::uint64_t resident_bytes(pid_t pid);
std::uint64_t peak_resident_bytes(pid_t pid);  // VmHWM: the most it has held
double cpu_seconds(pid_t pid);

// One reading of a process: resident memory and CPU so far (of several: their sum).
struct ProcessReading {
    std::uint64_t rss = 0;
    double cpu = 0;
};
std::vector<ProcessReading> read_processes(const std::vector<pid_t>& pids);
ProcessReading sum(const std::vector<ProcessReading>& readings);
double own_cpu_seconds();  // this process's user+system CPU (the load side's cost)

}  // namespace streambed::bench
