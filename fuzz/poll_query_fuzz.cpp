// poll_query_fuzz.cpp: the polling fallback's query parser — GET /api/v11/poll/{endpoint}?QUERY
// against a hub with a short history on every endpoint. The input is "ENDPOINT?QUERY". Every
// answer is 200, 400 or 404 with a JSON body; a 200 names the epoch and a `next` per channel.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/http_api.hpp"
#include "engine/hub.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streambed;

namespace {

// A history of 4 and 6 messages per stream: polls from early seqs get `reset`, later ones do not.
engine::Hub& hub() {
    static engine::Hub* h = [] {
        auto* made = new engine::Hub(4);
        made->set_epoch("sim-fuzz");
        const std::pair<engine::Endpoint, const char*> streams[] = {
            {engine::Endpoint::channels, "ch-0"},       {engine::Endpoint::channels, "ch-1"},
            {engine::Endpoint::transactions, "ch-0"},   {engine::Endpoint::validators, "val-0"},
            {engine::Endpoint::consensus, "consensus"}, {engine::Endpoint::network, "network"},
            {engine::Endpoint::metrics, "metrics"}};
        for (auto [endpoint, channel] : streams) {
            const auto id = made->declare_stream(endpoint, channel);
            for (int i = 0; i < 6; ++i)
                made->publish(id, engine::MessageType::metrics, 1000 * i,
                              R"({"n":)" + std::to_string(i) + "}");
        }
        return made;
    }();
    return *h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto q = input.find('?');
    const auto endpoint = input.substr(0, q);
    const auto query = q == std::string_view::npos ? std::string_view() : input.substr(q + 1);
    const auto res = engine::poll(hub(), endpoint, query);
    fuzz::check(res.status == 200 || res.status == 400 || res.status == 404, "unexpected status",
                input);
    const auto body = fuzz::require_json(res.body, "the poll answer is not valid JSON");
    if (res.status == 200) {
        fuzz::check(body["epoch"] == "sim-fuzz", "a poll answer without the hub's epoch", res.body);
        fuzz::check(
            body["messages"].is_array() && body["next"].is_object() && body["reset"].is_array(),
            "a poll answer without messages, next and reset", res.body);
    } else {
        fuzz::check(body.contains("error") && body.contains("message"),
                    "an error without error and message", res.body);
    }
    return 0;
}
