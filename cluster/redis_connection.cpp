// redis_connection.cpp: the redis:// address, hiredis's synchronous API and its replies.
#include "cluster/redis_connection.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <array>
#include <charconv>

namespace streambed::cluster {
namespace {

timeval to_timeval(std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    return tv;
}

std::optional<int> to_int(std::string_view s, int lo, int hi) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi)
        return std::nullopt;
    return v;
}

constexpr std::string_view kUnixScheme = "unix://";

std::optional<RedisAddress> parse_unix_url(std::string_view url, std::string& error) {
    const std::string shown(url);
    url.remove_prefix(kUnixScheme.size());
    RedisAddress a;
    if (auto query = url.find('?'); query != std::string_view::npos) {
        constexpr std::string_view kDb = "db=";
        auto db = url.substr(query + 1, kDb.size()) == kDb
                      ? to_int(url.substr(query + 1 + kDb.size()), 0, 1'000'000)
                      : std::nullopt;
        if (!db) {
            error = "'" + shown + "': after the path only ?db=N (a number) is understood";
            return std::nullopt;
        }
        a.db = *db;
        url = url.substr(0, query);
    }
    if (url.size() < 2 || url.front() != '/') {
        error =
            "'" + shown + "': the socket's absolute path is needed, as in unix:///run/redis.sock";
        return std::nullopt;
    }
    a.socket = std::string(url);
    return a;
}

}  // namespace

std::string RedisAddress::text() const {
    if (!socket.empty()) return fmt::format("unix://{}?db={}", socket, db);
    return fmt::format("redis://{}:{}/{}", host, port, db);
}

std::optional<RedisAddress> parse_redis_url(std::string_view url, std::string& error) {
    constexpr std::string_view kScheme = "redis://";
    const std::string shown(url);
    if (url.substr(0, kUnixScheme.size()) == kUnixScheme) return parse_unix_url(url, error);
    if (url.substr(0, kScheme.size()) != kScheme) {
        error = "'" + shown +
                "' is not a Redis address: use redis://HOST:PORT[/DB] or unix:///PATH[?db=DB]";
        return std::nullopt;
    }
    url.remove_prefix(kScheme.size());
    RedisAddress a;
    if (auto slash = url.find('/'); slash != std::string_view::npos) {
        auto db = to_int(url.substr(slash + 1), 0, 1'000'000);
        if (!db) {
            error = "'" + shown + "': the database must be a number";
            return std::nullopt;
        }
        a.db = *db;
        url = url.substr(0, slash);
    }
    if (auto colon = url.rfind(':'); colon != std::string_view::npos) {
        auto port = to_int(url.substr(colon + 1), 1, 65535);
        if (!port) {
            error = "'" + shown + "': the port must be a number from 1 to 65535";
            return std::nullopt;
        }
        a.port = *port;
        url = url.substr(0, colon);
    }
    if (url.empty() || url.find('@') != std::string_view::npos) {
        error = "'" + shown + "': a host is needed (and no user or password: not supported)";
        return std::nullopt;
    }
    a.host = std::string(url);
    return a;
}

void ReplyDeleter::operator()(redisReply* r) const {
    freeReplyObject(r);
}

bool is_error(const redisReply& r) {
    return r.type == REDIS_REPLY_ERROR;
}
bool is_nil(const redisReply& r) {
    return r.type == REDIS_REPLY_NIL;
}

std::string_view text_of(const redisReply& r) {
    if (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS || r.type == REDIS_REPLY_ERROR)
        return {r.str, r.len};
    return {};
}

std::optional<long long> integer_of(const redisReply& r) {
    if (r.type == REDIS_REPLY_INTEGER) return r.integer;
    if (r.type != REDIS_REPLY_STRING) return std::nullopt;
    long long v = 0;
    auto [p, ec] = std::from_chars(r.str, r.str + r.len, v);
    if (ec != std::errc() || p != r.str + r.len) return std::nullopt;
    return v;
}

std::unique_ptr<RedisConnection> RedisConnection::open(const RedisAddress& address,
                                                       std::chrono::milliseconds timeout,
                                                       std::string& error) {
    redisContext* c =
        address.socket.empty()
            ? redisConnectWithTimeout(address.host.c_str(), address.port, to_timeval(timeout))
            : redisConnectUnixWithTimeout(address.socket.c_str(), to_timeval(timeout));
    if (!c || c->err) {
        error =
            fmt::format("{}: {}", address.text(), c ? c->errstr : "cannot allocate a connection");
        if (c) redisFree(c);
        return nullptr;
    }
    redisSetTimeout(c, to_timeval(timeout));
    std::unique_ptr<RedisConnection> conn(new RedisConnection(c, address));
    if (address.db != 0) {
        Reply r = conn->command({"SELECT", std::to_string(address.db)});
        if (!r || is_error(*r)) {
            error = r ? fmt::format("{}: SELECT: {}", address.text(), text_of(*r)) : conn->error();
            return nullptr;
        }
    }
    return conn;
}

RedisConnection::~RedisConnection() {
    redisFree(c_);
}

Reply RedisConnection::command(const std::vector<std::string>& argv) {
    if (!append(argv)) return nullptr;
    return next_reply();
}

bool RedisConnection::append(const std::vector<std::string>& argv) {
    std::vector<const char*> words;
    std::vector<std::size_t> lengths;
    words.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const auto& a : argv) {
        words.push_back(a.data());
        lengths.push_back(a.size());
    }
    return append_words(static_cast<int>(argv.size()), words.data(), lengths.data());
}

bool RedisConnection::append(std::initializer_list<std::string_view> argv) {
    constexpr std::size_t kMaxWords = 16;  // the publish script's call has 14
    std::array<const char*, kMaxWords> words{};
    std::array<std::size_t, kMaxWords> lengths{};
    if (argv.size() > kMaxWords) {
        error_ = fmt::format("{}: a command of {} words (at most {})", address_.text(), argv.size(),
                             kMaxWords);
        return false;
    }
    std::size_t i = 0;
    for (std::string_view a : argv) {
        words[i] = a.data();
        lengths[i++] = a.size();
    }
    return append_words(static_cast<int>(i), words.data(), lengths.data());
}

bool RedisConnection::append_words(int count, const char** words, const std::size_t* lengths) {
    return error_.empty() && queued(redisAppendCommandArgv(c_, count, words, lengths));
}

bool RedisConnection::queued(int status) {
    if (status == REDIS_OK) return true;
    error_ = fmt::format("{}: {}", address_.text(),
                         c_->errstr[0] ? c_->errstr : "cannot queue a command");
    return false;
}

bool RedisConnection::append_formatted(std::string_view command) {
    return error_.empty() &&
           queued(redisAppendFormattedCommand(c_, command.data(), command.size()));
}

Reply RedisConnection::next_reply() {
    if (!error_.empty()) return nullptr;
    void* r = nullptr;
    if (redisGetReply(c_, &r) != REDIS_OK || !r) {
        error_ =
            fmt::format("{}: {}", address_.text(), c_->errstr[0] ? c_->errstr : "connection lost");
        return nullptr;
    }
    return Reply(static_cast<redisReply*>(r));
}

bool RedisConnection::set_nonblocking() {
    const int flags = ::fcntl(c_->fd, F_GETFL, 0);
    if (flags < 0 || ::fcntl(c_->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        error_ = fmt::format("{}: cannot make the connection non-blocking", address_.text());
        return false;
    }
    // hiredis 0.14 has no call for it; its own non-blocking connect does the same.
    c_->flags &= ~REDIS_BLOCK;
    return true;
}

int RedisConnection::fd() const {
    return c_->fd;
}

RedisConnection::Io RedisConnection::flush() {
    int done = 0;
    if (!error_.empty()) return Io::failed;
    if (redisBufferWrite(c_, &done) != REDIS_OK) {
        error_ =
            fmt::format("{}: {}", address_.text(), c_->errstr[0] ? c_->errstr : "connection lost");
        return Io::failed;
    }
    return done ? Io::done : Io::again;
}

bool RedisConnection::feed(const char* data, std::size_t size) {
    if (!error_.empty()) return false;
    if (redisReaderFeed(c_->reader, data, size) != REDIS_OK) {
        error_ = fmt::format("{}: cannot read Redis's reply", address_.text());
        return false;
    }
    return true;
}

bool RedisConnection::read_available() {
    if (!error_.empty()) return false;
    // Non-blocking: a read that would wait reads nothing and succeeds; end of file fails.
    if (redisBufferRead(c_) != REDIS_OK) {
        error_ =
            fmt::format("{}: {}", address_.text(), c_->errstr[0] ? c_->errstr : "connection lost");
        return false;
    }
    return true;
}

RedisConnection::Io RedisConnection::take(Reply& reply) {
    if (!error_.empty()) return Io::failed;
    void* r = nullptr;
    // Non-blocking: the reader's replies only, never a read of the socket.
    if (redisGetReply(c_, &r) != REDIS_OK) {
        error_ = fmt::format("{}: {}", address_.text(),
                             c_->errstr[0] ? c_->errstr : "a malformed reply from Redis");
        return Io::failed;
    }
    if (!r) return Io::again;
    reply.reset(static_cast<redisReply*>(r));
    return Io::done;
}

}  // namespace streambed::cluster
