// ws_client.hpp: a blocking WebSocket and HTTP client for tests, on real loopback sockets.
// Every read has a deadline (SO_RCVTIMEO), so a missing message fails a test instead of hanging.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace streambed::testing {

using json = nlohmann::json;

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    json body_json() const { return json::parse(body); }
};

// GET (or an upgrade attempt) over a fresh connection.
HttpResult http_get(std::uint16_t port, const std::string& target,
                    const std::map<std::string, std::string>& headers = {});
// The server's counters: GET /api/v11/websocket/stats, parsed.
json websocket_stats(std::uint16_t port);
// One counter of those stats (e.g. "socketWrites").
std::uint64_t websocket_stat(std::uint16_t port, const char* name);
// Tries a WebSocket upgrade and returns the HTTP status of a refusal (101 when accepted).
HttpResult try_upgrade(std::uint16_t port, const std::string& target,
                       const std::map<std::string, std::string>& headers = {});

// Writes `request` as is on a fresh connection and returns the whole answer, read until the
// server closes (or 5 s pass): for requests a well-formed client would not send.
std::string raw_request(std::uint16_t port, const std::string& request);
// An upgrade request for /ws/metrics with the Upgrade and Connection headers and `extra` (lines).
std::string upgrade_request(const std::string& extra);
// What follows the headers of an HTTP answer.
std::string body_of(const std::string& answer);

class WsClient {
  public:
    // Connects and completes the handshake; throws on refusal.
    WsClient(std::uint16_t port, const std::string& target,
             std::chrono::milliseconds read_timeout = std::chrono::seconds(5),
             const std::map<std::string, std::string>& headers = {}, bool offer_deflate = false);
    ~WsClient();
    WsClient(WsClient&&) noexcept;

    void send(const std::string& text);
    void send_json(const json& j) { send(j.dump()); }
    void send_binary(const std::string& bytes);

    // The next text message; nullopt when the connection closed or the read timed out
    // (closed() and close_code() tell which).
    std::optional<std::string> read();
    // Like read(), but fails the test (throws) when nothing arrives.
    std::string read_text();
    json read_json() { return json::parse(read_text()); }
    // Reads until a message of this type arrives; throws after the deadline.
    json read_until_type(const std::string& type);

    bool closed() const;
    int close_code() const;  // after closed(): the server's close code
    std::string close_reason() const;
    void close(int code = 1000);  // clean close handshake
    void set_read_timeout(std::chrono::milliseconds t);
    // Stops reading: the socket's receive buffer is shrunk so back-pressure reaches the server.
    void shrink_receive_buffer(int bytes);
    std::size_t pings_received() const;
    // A WebSocket ping control frame (not the protocol's ping action), and the pongs' payloads.
    void ping(const std::string& payload);
    std::vector<std::string> pongs_received() const;
    // The Sec-WebSocket-Extensions the server accepted ("" when none).
    std::string extensions() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Waits for `pred` with a deadline, checking every few milliseconds. True when it held.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pred();
}

}  // namespace streambed::testing
