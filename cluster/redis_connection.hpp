// redis_connection.hpp: one synchronous connection to Redis (hiredis), used by one cluster
// thread only — never by an I/O thread — and the `redis://HOST:PORT[/DB]` address it goes to.
#pragma once

#include <chrono>
#include <cstdint>
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
    int db = 0;
    std::string text() const;  // redis://HOST:PORT/DB, for messages
};

// nullopt, and `error` naming the problem, when `url` is not redis://HOST[:PORT][/DB].
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
    Reply next_reply();
    // The deadline of the next commands (a blocking read needs its block time added).
    void set_timeout(std::chrono::milliseconds timeout);
    const std::string& error() const { return error_; }

  private:
    RedisConnection(redisContext* c, RedisAddress address) : c_(c), address_(std::move(address)) {}
    redisContext* c_;
    RedisAddress address_;
    std::string error_;
};

}  // namespace streambed::cluster
