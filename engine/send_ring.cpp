// send_ring.cpp: many connections' sendmsgs in one io_uring submission (liburing).
#include "engine/send_ring.hpp"

#include <liburing.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <exception>

namespace streambed::engine {

struct SendRing::Ring {
    io_uring ring{};
    bool open = false;
    ~Ring() {
        if (open) io_uring_queue_exit(&ring);
    }
};

namespace {

// A submission the kernel refuses for want of memory or because it is busy, or a wait for a
// result that fails, is tried again this many times before the ring is given up (its sends
// then go one by one).
constexpr int kAttempts = 16;

constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;

}  // namespace

std::unique_ptr<SendRing> SendRing::open(Counter& submissions, std::string& why) {
    auto ring = std::make_unique<Ring>();
    // Go on past a send the kernel cannot even start (each has its own result), and post
    // results without interrupting the thread: it reads them right after submitting.
    io_uring_params params{};
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
    int e = io_uring_queue_init_params(kSendRingEntries, &ring->ring, &params);
    if (e == -EINVAL) {  // a kernel older than 5.19: without the two flags
        params = {};
        e = io_uring_queue_init_params(kSendRingEntries, &ring->ring, &params);
    }
    if (e < 0) {
        why = std::strerror(-e);
        return nullptr;
    }
    ring->open = true;
    return std::unique_ptr<SendRing>(new SendRing(std::move(ring), submissions));
}

SendRing::SendRing(std::unique_ptr<Ring> ring, Counter& submissions)
    : ring_(std::move(ring)), submissions_(submissions) {
    iovecs_.resize(kSendRingIovecs);
    headers_.resize(kSendRingEntries);
    pending_.reserve(kSendRingEntries);
}

SendRing::~SendRing() = default;

std::span<iovec> SendRing::room(std::size_t need) {
    if (iovecs_.size() - iovecs_used_ < need) submit();
    return std::span<iovec>(iovecs_).subspan(iovecs_used_);
}

void SendRing::add(int fd, std::size_t iovecs, Sender* sender, std::shared_ptr<void> keep) {
    const auto index = pending_.size();
    msghdr& header = headers_[index];
    header = {};
    header.msg_iov = iovecs_.data() + iovecs_used_;
    header.msg_iovlen = iovecs;
    iovecs_used_ += iovecs;
    pending_.push_back({sender, std::move(keep), fd});
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_->ring);  // never null: one entry per pending
    io_uring_prep_sendmsg(sqe, fd, &header, kSendFlags);
    io_uring_sqe_set_data64(sqe, index);
    if (pending_.size() == kSendRingEntries) submit();
}

void SendRing::submit() {
    if (pending_.empty() || dispatching_) return;
    dispatching_ = true;
    const auto count = pending_.size();
    std::size_t submitted = 0;
    int error = 0;
    for (int attempt = 0; submitted < count && attempt < kAttempts;) {
        const int n = io_uring_submit(&ring_->ring);
        if (n > 0) {
            submitted += static_cast<std::size_t>(n);
        } else {
            error = n;
            ++attempt;
        }
    }
    submissions_.add();
    // Every send is non-blocking, so its result was posted during the submission; waiting is
    // only a guard against a kernel that completes one later.
    std::size_t seen = 0;
    for (int attempt = 0; seen < submitted && attempt < kAttempts;) {
        io_uring_cqe* cqe = nullptr;
        if (io_uring_wait_cqe(&ring_->ring, &cqe) < 0 || !cqe) {
            ++attempt;
            continue;
        }
        const auto index = static_cast<std::size_t>(io_uring_cqe_get_data64(cqe));
        const long result = cqe->res;
        io_uring_cqe_seen(&ring_->ring, cqe);
        ++seen;
        if (index < count && pending_[index].sender) dispatch(index, result);
    }
    if (seen < count) {
        // The kernel kept refusing: the rest go one by one, and so does every later send.
        spdlog::error("io_uring submission failed ({}): sending one connection at a time",
                      std::strerror(-error));
        ring_.reset();  // what it still holds is never sent
        for (std::size_t i = 0; i < count; ++i) {
            if (!pending_[i].sender) continue;
            // Entries go to the kernel in order: one submitted whose result never came may
            // have been sent, so it is not sent again — its connection ends with an error.
            if (i < submitted) {
                dispatch(i, -EIO);
                continue;
            }
            const ssize_t n = ::sendmsg(pending_[i].fd, &headers_[i], kSendFlags);
            dispatch(i, n < 0 ? -errno : n);
        }
    }
    pending_.clear();
    iovecs_used_ = 0;
    dispatching_ = !ring_;  // a ring given up takes no more sends
}

void SendRing::dispatch(std::size_t index, long result) {
    auto& p = pending_[index];
    // A sender that throws is a bug; it must not keep the others from hearing.
    try {
        p.sender->sent(result);
    } catch (const std::exception& e) {
        spdlog::error("send result handler: unexpected exception: {}", e.what());
    }
    p.sender = nullptr;  // heard
    p.keep.reset();
}

}  // namespace streambed::engine
