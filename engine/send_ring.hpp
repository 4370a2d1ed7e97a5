// send_ring.hpp: the writes of many connections in one system call. A shard's delivery loop
// adds each connection's gathered write (an fd and its iovecs) to an io_uring and submits them
// together: one kernel entry for up to kSendRingEntries sendmsgs instead of one each, which on
// this machine halves the server's CPU per delivery at 1,000 subscribers (docs/benchmarks.md).
// Every send is non-blocking (MSG_DONTWAIT): the kernel does it during the submission, so the
// results are all there when submit() returns and each sender hears its own at once. One
// shard's thread only; where the kernel refuses io_uring, open() says why and the shard writes
// each connection with its own sendmsg.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/metrics.hpp"

namespace streambed::engine {

// Sends submitted together: one system call for this many connections' writes (a loop of 1,000
// subscribers makes four); a few hundred already take the per-call cost off each send, and the
// first subscribers' writes do not wait for the whole loop. The iovec pool holds a full ring of
// typical writes (a frame alone takes two iovecs) and always one write of kGatherMaxIovecs.
inline constexpr unsigned kSendRingEntries = 256;
inline constexpr std::size_t kSendRingIovecs = 16 * 1024;

class SendRing {
  public:
    // Who hears how a send went: the bytes the socket took, or -errno (-EAGAIN: none; wait
    // until it is writable).
    class Sender {
      public:
        virtual void sent(long result) = 0;

      protected:
        ~Sender() = default;
    };

    // nullptr, with the kernel's reason in `why`, where io_uring cannot be used. `submissions`
    // counts the system calls that carried sends (the shard's metrics).
    static std::unique_ptr<SendRing> open(Counter& submissions, std::string& why);
    ~SendRing();
    SendRing(const SendRing&) = delete;
    SendRing& operator=(const SendRing&) = delete;

    // While submit() hands out results, sends go their own way (a sender writing again).
    bool accepting() const { return !dispatching_; }
    // Room for the iovecs of the next add(): at least `need` of them (submitting what is
    // queued first if the pool is short).
    std::span<iovec> room(std::size_t need);
    // Queues a sendmsg of the first `iovecs` of room() to `fd`; `keep` holds the sender (and
    // what the iovecs point to) until it has heard. Submits when the ring is full — so the
    // sender may hear before add() returns: whatever it marks for its send, it marks first.
    void add(int fd, std::size_t iovecs, Sender* sender, std::shared_ptr<void> keep);
    // Everything queued, in one system call; then each sender hears its result.
    void submit();

  private:
    struct Pending {
        Sender* sender;  // null once it has heard
        std::shared_ptr<void> keep;
        int fd;
    };
    struct Ring;
    SendRing(std::unique_ptr<Ring> ring, Counter& submissions);
    void dispatch(std::size_t index, long result);

    std::unique_ptr<Ring> ring_;
    std::vector<iovec> iovecs_;
    std::size_t iovecs_used_ = 0;
    std::vector<msghdr> headers_;  // one per queued send, kept until it is submitted
    std::vector<Pending> pending_;
    Counter& submissions_;
    bool dispatching_ = false;
};

}  // namespace streambed::engine
