// server_process.cpp: spawning, the listening line, /proc sampling.
#include "bench/server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace streambed::bench {
namespace {

void pass_on(const char* data, std::size_t n) {
    while (n > 0) {
        const auto w = write(STDERR_FILENO, data, n);
        if (w <= 0) return;
        data += w;
        n -= static_cast<std::size_t>(w);
    }
}

// Passes on what `fd` carries until its writer is gone, keeping the last 4 KiB in `tail`.
void drain_until_eof(int fd, std::string& tail) {
    if (fd < 0) return;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        pass_on(buf, static_cast<std::size_t>(n));
        tail.append(buf, static_cast<std::size_t>(n));
        if (tail.size() > 4096) tail.erase(0, tail.size() - 4096);
    }
}

std::string last_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text.substr(text.rfind('\n') + 1);  // npos + 1 == 0: the whole text
}

}  // namespace

ServerProcess::ServerProcess(const std::string& program, const std::vector<std::string>& args,
                             std::chrono::milliseconds deadline, std::uint16_t port) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        throw std::runtime_error("pipe failed");
    }
    std::vector<std::string> argv_s = {program, "serve", "--port", std::to_string(port)};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
    // The child ends with this process (app/server_runner.cpp): the value names the parent.
    std::vector<std::string> env_s = {"STREAMBED_EXIT_WITH_PARENT=" + std::to_string(getpid())};
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    std::vector<char*> env;
    for (auto& e : env_s) env.push_back(e.data());
    env.push_back(nullptr);
    const int rc = posix_spawn(&pid_, program.c_str(), &fa, nullptr, argv.data(), env.data());
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        throw std::runtime_error("cannot start " + program);
    }
    stdout_fd_ = out[0];
    stderr_fd_ = err[0];

    // Until the listening line: stdout read here, stderr passed on and its last line kept, to
    // say why when the server gives up before listening.
    std::string line, complaint;
    const auto end = std::chrono::steady_clock::now() + deadline;
    auto fail = [&](const std::string& what) {
        stop();
        const auto last = last_line(complaint);
        throw std::runtime_error(what + (last.empty() ? "" : ": " + last));
    };
    while (line.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        pollfd p[2] = {{stdout_fd_, POLLIN, 0}, {stderr_fd_, POLLIN, 0}};
        if (left.count() <= 0 ||
            poll(p, stderr_fd_ >= 0 ? 2 : 1, static_cast<int>(left.count())) <= 0)
            fail("the server did not print its listening line in time");
        char buf[512];
        if (stderr_fd_ >= 0 && (p[1].revents & (POLLIN | POLLHUP))) {
            const auto n = read(stderr_fd_, buf, sizeof buf);
            if (n > 0) {
                pass_on(buf, static_cast<std::size_t>(n));
                complaint.append(buf, static_cast<std::size_t>(n));
                if (complaint.size() > 4096) complaint.erase(0, complaint.size() - 4096);
            } else {
                close(stderr_fd_);
                stderr_fd_ = -1;
            }
        }
        if (!(p[0].revents & (POLLIN | POLLHUP))) continue;
        const auto n = read(stdout_fd_, buf, sizeof buf);
        if (n <= 0) {
            // The child's last words may still be on their way through the other pipe.
            drain_until_eof(stderr_fd_, complaint);
            fail("the server exited before listening");
        }
        line.append(buf, static_cast<std::size_t>(n));
    }
    const auto colon = line.rfind(':', line.find('\n'));
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
    // From now on its log goes on to ours, until it exits.
    if (stderr_fd_ >= 0)
        stderr_thread_ = std::thread([fd = stderr_fd_] {
            std::string ignored;
            drain_until_eof(fd, ignored);
        });
}

ServerProcess::~ServerProcess() {
    stop();
}

void ServerProcess::reap_stderr() {
    if (stderr_thread_.joinable()) stderr_thread_.join();
    if (stderr_fd_ >= 0) close(stderr_fd_);
    stderr_fd_ = -1;
}

int ServerProcess::stop() {
    if (pid_ <= 0) return 0;
    kill(pid_, SIGTERM);
    int status = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > end) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            break;
        }
        pollfd none{-1, 0, 0};
        poll(&none, 0, 10);  // wait for the child without spinning
    }
    pid_ = -1;
    if (stdout_fd_ >= 0) close(stdout_fd_);
    stdout_fd_ = -1;
    reap_stderr();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ServerProcess::kill_now() {
    if (pid_ <= 0) return 0;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (stdout_fd_ >= 0) close(stdout_fd_);
    stdout_fd_ = -1;
    reap_stderr();
    return 128 + SIGKILL;
}

namespace {
std::uint64_t status_kb(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (in >> key) {
        if (key == field) {
            std::uint64_t kb = 0;
            in >> kb;
            return kb * 1024;
        }
        in.ignore(1 << 12, '\n');
    }
    return 0;
}
}  // namespace

std::uint64_t resident_bytes(pid_t pid) {
    return status_kb(pid, "VmRSS:");
}
std::uint64_t peak_resident_bytes(pid_t pid) {
    return status_kb(pid, "VmHWM:");
}

double own_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces) begin after the last ')'. A process
    // that is gone (or never was) has used no CPU.
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 > stat.size()) return 0;
    std::istringstream rest(stat.substr(paren + 2));
    unsigned long field = 0, utime = 0, stime = 0;
    std::string state;
    rest >> state;  // field 3, a letter
    for (int i = 4; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = field;
        if (i == 15) stime = field;
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::vector<ProcessReading> read_processes(const std::vector<pid_t>& pids) {
    std::vector<ProcessReading> out;
    for (const pid_t pid : pids) out.push_back({resident_bytes(pid), cpu_seconds(pid)});
    return out;
}

ProcessReading sum(const std::vector<ProcessReading>& readings) {
    ProcessReading total;
    for (const auto& r : readings) {
        total.rss += r.rss;
        total.cpu += r.cpu;
    }
    return total;
}

}  // namespace streambed::bench
