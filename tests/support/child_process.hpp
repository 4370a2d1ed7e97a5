// child_process.hpp: a program run by a test as a real child process — its output captured,
// its exit awaited with a deadline, and never left running after the test.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/ws_client.hpp"

namespace streambed::testing {

inline std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

// One running program with stdout and stderr captured by a reader thread, stdin from /dev/null.
// The destructor kills (SIGKILL) and reaps a child that is still running, so a failing test
// leaves nothing behind; the child dies with the test runner too.
class ChildProcess {
  public:
    ChildProcess(const std::string& program, const std::vector<std::string>& args) {
        std::vector<std::string> words{program};
        words.insert(words.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& w : words) argv.push_back(w.data());
        argv.push_back(nullptr);

        int out[2], err[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
        if (::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
        const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error(errno_text("fork"));
        if (pid_ == 0) {
            // The child: only async-signal-safe calls until exec.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the test runner dies: so does the server
            if (::getppid() != parent) ::_exit(127);
            sigset_t none;
            ::sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            struct sigaction dfl {};
            dfl.sa_handler = SIG_DFL;
            ::sigaction(SIGINT, &dfl, nullptr);
            ::sigaction(SIGTERM, &dfl, nullptr);
            ::dup2(devnull, 0);
            ::dup2(out[1], 1);
            ::dup2(err[1], 2);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        ::close(err[1]);
        ::close(devnull);
        fds_ = {out[0], err[0]};
        reader_ = std::thread([this] { read_loop(); });
    }

    ~ChildProcess() {
        if (!status_) {
            ::kill(pid_, SIGKILL);
            int st = 0;
            while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
            }
            status_ = st;
        }
        stop_ = true;
        if (reader_.joinable()) reader_.join();
        for (int fd : fds_) ::close(fd);
    }

    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }

    void send_signal(int sig) {
        if (!status_) ::kill(pid_, sig);
    }

    // The next complete line of stdout (without '\n'); nullopt at the deadline or at end of file.
    std::optional<std::string> next_line(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, timeout,
                     [&] { return out_.find('\n', line_pos_) != std::string::npos || eof_[0]; });
        const auto nl = out_.find('\n', line_pos_);
        if (nl == std::string::npos) return std::nullopt;
        std::string line = out_.substr(line_pos_, nl - line_pos_);
        line_pos_ = nl + 1;
        return line;
    }

    // Reaps the child if it has exited; true while it still runs.
    bool running() {
        if (status_) return false;
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            status_ = st;
            return false;
        }
        return true;
    }

    // The wait status once the child exited (all its output read); nullopt at the deadline.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        if (!wait_until([&] { return !running(); }, timeout)) return std::nullopt;
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(2), [&] { return eof_[0] && eof_[1]; });
        return status_;
    }

    std::string out() const {
        std::lock_guard lock(mu_);
        return out_;
    }
    std::string err() const {
        std::lock_guard lock(mu_);
        return err_;
    }

  private:
    void read_loop() {
        std::array<pollfd, 2> p{{{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}}};
        while (!stop_ && (p[0].fd >= 0 || p[1].fd >= 0)) {
            const int n = ::poll(p.data(), p.size(), 50);  // 50 ms: notices stop_ promptly
            if (n < 0 && errno != EINTR) break;
            for (std::size_t i = 0; i < p.size(); ++i) {
                if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                char buf[4096];
                const ssize_t r = ::read(p[i].fd, buf, sizeof buf);
                if (r < 0 && errno == EINTR) continue;
                {
                    std::lock_guard lock(mu_);
                    if (r <= 0) {
                        eof_[i] = true;
                        p[i].fd = -1;  // poll() skips negative descriptors
                    } else {
                        (i == 0 ? out_ : err_).append(buf, static_cast<std::size_t>(r));
                    }
                }
                cv_.notify_all();
            }
        }
    }

    pid_t pid_ = -1;
    std::optional<int> status_;
    std::array<int, 2> fds_{-1, -1};
    std::thread reader_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::string out_, err_;
    std::size_t line_pos_ = 0;
    std::array<bool, 2> eof_{false, false};
};

}  // namespace streambed::testing
