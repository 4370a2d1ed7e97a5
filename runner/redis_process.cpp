// redis_process.cpp: spawning redis-server, waiting for its PONG, killing it.
#include "runner/redis_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "runner/loopback.hpp"

namespace streambed::runner {
using Clock = std::chrono::steady_clock;

namespace {

// A port the kernel just said was free (bound to port 0, then released).
std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) throw std::runtime_error("no free port for redis-server");
    return ntohs(a.sin_port);
}

// True when 127.0.0.1:port answers PING with PONG (it is then ready: loaded and accepting).
bool answers_ping(std::uint16_t port) {
    const int fd = connect_loopback(port, std::chrono::milliseconds(200));
    if (fd < 0) return false;
    char reply[16] = {};
    const bool ok =
        ::send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6 && ::recv(fd, reply, sizeof reply - 1, 0) > 0;
    ::close(fd);
    return ok && std::string_view(reply).starts_with("+PONG");
}

}  // namespace

std::optional<std::string> find_redis_server() {
    const char* path = std::getenv("PATH");
    const std::string dirs = path ? path : "/usr/bin:/usr/sbin";
    for (std::size_t start = 0; start <= dirs.size();) {
        const auto end = std::min(dirs.find(':', start), dirs.size());
        const auto candidate =
            std::filesystem::path(dirs.substr(start, end - start)) / "redis-server";
        if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = end + 1;
    }
    return std::nullopt;
}

RedisProcess::RedisProcess(std::string program) : program_(std::move(program)) {
    char dir[] = "/tmp/streambed-redis-XXXXXX";
    if (!::mkdtemp(dir)) throw std::runtime_error("cannot create a folder for redis-server");
    dir_ = dir;
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
        port_ = free_port();
        spawn();
    }
    if (pid_ <= 0) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw std::runtime_error(
            fmt::format("redis-server did not start (see {}/redis.log)", dir_));
    }
}

RedisProcess::~RedisProcess() {
    kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

bool RedisProcess::spawn() {
    // Everything the child needs is made before fork: after it, only async-signal-safe calls.
    std::vector<std::string> args = {
        program_, "--port",    std::to_string(port_), "--bind", "127.0.0.1",
        "--save", "",          "--appendonly",        "no",     "--dir",
        dir_,     "--logfile", dir_ + "/redis.log"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Its output goes to its log file: the runner's own output is the report.
    const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(devnull);
        return false;
    }
    if (pid == 0) {
        // The child dies with the runner, even a runner killed with SIGKILL.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;  // the runner's threads may block signals: redis-server handles its own
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int fd = 0; fd <= 2; ++fd) ::dup2(devnull, fd);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(devnull);
    pid_ = pid;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: the port was taken, say
            pid_ = -1;
            return false;
        }
        if (answers_ping(port_)) return true;
        pollfd none{-1, 0, 0};
        ::poll(&none, 0, 20);  // the next look, not a synchronisation: PING decides
    }
    kill();
    return false;
}

void RedisProcess::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void RedisProcess::start() {
    if (pid_ > 0) return;
    if (!spawn())
        throw std::runtime_error(fmt::format(
            "redis-server did not start again on port {} (see {}/redis.log)", port_, dir_));
}

}  // namespace streambed::runner
