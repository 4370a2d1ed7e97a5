// stream.hpp: one (endpoint, channel) stream — its seq counter, bounded history and latest state.
// Written by the source thread; read (for snapshots, resume and polling) from any I/O thread.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/catalog.hpp"
#include "engine/message.hpp"

namespace streambed::engine {

class Stream {
  public:
    Stream(StreamId id, Endpoint endpoint, std::string channel, std::size_t history_limit);

    StreamId id() const { return id_; }
    Endpoint endpoint() const { return endpoint_; }
    const std::string& channel() const { return channel_; }

    // Source thread: frames and stores the next message of the stream.
    MessagePtr append(MessageType type, std::int64_t time_ms, std::string_view data_json,
                      std::int64_t published_us);

    // Source thread, before the stream's first message: numbering continues after `seq` (a
    // world continued from a checkpoint; history starts empty). False once it has a message.
    bool continue_after(std::uint64_t seq);

    // The ingesting thread (a cluster follower): stores a message framed elsewhere with its
    // seq. nullptr when seq is not newer than the newest; a jump restarts history (Hub::ingest).
    MessagePtr ingest(std::uint64_t seq, MessageType type, std::int64_t time_ms, std::string bytes,
                      std::int64_t published_us);

    // Why a resume recovers nothing: its point left history (or lies beyond the newest seq),
    // or the client read its seqs under another epoch (engine/epoch.hpp).
    enum class ResetReason : std::uint8_t { history_exceeded, epoch_changed };
    // What a subscriber or a poll needs, read atomically with respect to append().
    struct Catchup {
        std::uint64_t last_seq = 0;  // the newest seq published; live delivery continues after it
        bool reset = false;          // `since` asked for messages no longer in history
        ResetReason reason = ResetReason::history_exceeded;  // when reset
        std::vector<MessagePtr> messages;  // in seq order: history after `since`, or the snapshot
    };
    // since == nullopt: the snapshot (latest state, if any). since == n: the messages with
    // seq > n still in history (at most max_messages of them, oldest first), or (reset) the
    // snapshot when seq n+1 has left history or n is beyond the newest seq (a restarted server).
    Catchup catchup(std::optional<std::uint64_t> since,
                    std::size_t max_messages = static_cast<std::size_t>(-1)) const;
    // A resume by a client that named a foreign epoch: the snapshot, marked reset epoch_changed
    // when it gave `since` (its seqs mean other bytes here); else as catchup().
    Catchup catchup_for_epoch(std::optional<std::uint64_t> since, bool foreign_epoch,
                              std::size_t max_messages = static_cast<std::size_t>(-1)) const;
    std::uint64_t last_seq() const;

  private:
    const StreamId id_;
    const Endpoint endpoint_;
    const std::string channel_;
    const std::size_t history_limit_;

    mutable std::mutex mu_;  // per stream: no lock is shared by two streams
    std::deque<MessagePtr> history_;
    MessagePtr latest_state_;
    std::uint64_t last_seq_ = 0;
};

}  // namespace streambed::engine
