// control_api.hpp: the proxy's HTTP control API (JSON), on a port and thread of its own:
//   GET /impairments, POST /impairments, DELETE /impairments/NAME, POST /partition {"on":true},
//   POST /reset, GET /stats. Errors are JSON {"error":"…"} with 400, 404 or 405.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/impairment_proxy.hpp"

namespace streambed::proxy {

struct ControlResponse {
    int status = 200;
    std::string body;  // JSON, or empty (204)
};

// One request against the proxy, without the network (the server below calls it).
ControlResponse handle_control(ImpairmentProxy& proxy, std::string_view method,
                               std::string_view target, std::string_view body);

class ControlApi {
  public:
    ControlApi(ImpairmentProxy& proxy, std::string host = "127.0.0.1", std::uint16_t port = 0);
    ~ControlApi();  // stops
    ControlApi(const ControlApi&) = delete;
    ControlApi& operator=(const ControlApi&) = delete;

    void start();  // binds (throws std::runtime_error naming the address) and runs
    std::uint16_t port() const;
    void stop();  // idempotent

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace streambed::proxy
