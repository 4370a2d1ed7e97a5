// redis_connection.hpp: one connection to Redis (hiredis), used by one thread at a time, and the
// `redis://HOST:PORT[/DB]` address it goes to. Synchronous on a cluster thread (never on an I/O
// thread); or, once switched to non-blocking, driven by an event loop (cluster/follow_loop.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace streambed::cluster {

struct RedisAddress {
    std::string host = "127.0.0.1";
    int port = 6379;  // Redis's own default
    // A Redis on this machine through its Unix-domain socket (`unixsocket`): host and port are
    // unused. A write to it skips the TCP stack that loopback runs in the writer's time.
    std::string socket;
    int db = 0;
    std::string text() const;  // redis://HOST:PORT/DB or unix:///PATH?db=DB, for messages
};

// nullopt, and `error` naming the problem, when `url` is neither redis://HOST[:PORT][/DB] nor
// unix:///PATH[?db=DB].
std::optional<RedisAddress> parse_redis_url(std::string_view url, std::string& error);

struct ReplyDeleter {
    void operator()(redisReply* r) const;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Reply readers: a Redis error reply is a reply, not a transport failure.
bool is_error(const redisReply& r);
bool is_nil(const redisReply& r);
std::string_view text_of(const redisReply& r);             // string, status or error text
std::optional<long long> integer_of(const redisReply& r);  // integer, or a string of digits

class RedisConnection {
  public:
    // Connects within `timeout`, then every command has it as its deadline. nullptr, and
    // `error` saying why, when Redis cannot be reached or the database not selected.
    static std::unique_ptr<RedisConnection> open(const RedisAddress& address,
                                                 std::chrono::milliseconds timeout,
                                                 std::string& error);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    // One command; nullptr on a transport failure (connection lost, timeout), then error()
    // says why and the connection is broken for good: open a new one.
    Reply command(const std::vector<std::string>& argv);
    // Pipelining: queue a command without waiting (false, and error(), on a failure), then read
    // the replies in order with next_reply() (nullptr on a transport failure, as command()).
    bool append(const std::vector<std::string>& argv);
    bool append(std::initializer_list<std::string_view> argv);  // no copy of the words
    // A command already written in RESP (cluster/resp_command.hpp), queued as it is.
    bool append_formatted(std::string_view command);
    Reply next_reply();
    const std::string& error() const { return error_; }

    // Non-blocking use: after set_nonblocking() no call waits. append() queues as above,
    // flush() writes what the socket takes; the caller reads the socket itself (an event loop
    // reads into its own buffer) and feed()s the bytes, and take() gives a whole reply once the
    // bytes fed hold one. `again`: wait until fd() is writable (flush) or feed more (take);
    // `failed`: error() says why, as after command().
    enum class Io { done, again, failed };
    bool set_nonblocking();
    int fd() const;
    const RedisAddress& address() const { return address_; }
    Io flush();
    bool feed(const char* data, std::size_t size);
    Io take(Reply& reply);
    // Non-blocking, for a caller without an event loop: reads what the socket holds now into
    // the reader (then take()); false, and error(), when the connection failed or closed.
    bool read_available();

  private:
    bool append_words(int count, const char** words, const std::size_t* lengths);
    bool queued(int status);  // a hiredis append's status: false, and error(), on a failure
    RedisConnection(redisContext* c, RedisAddress address) : c_(c), address_(std::move(address)) {}
    redisContext* c_;
    RedisAddress address_;
    std::string error_;
};

}  // namespace streambed::cluster
