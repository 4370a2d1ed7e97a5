// access.cpp: the auth token's checks and redaction (see access.hpp).
#include "engine/access.hpp"

#include <boost/url/parse_query.hpp>
#include <cctype>
#include <nlohmann/json.hpp>

#include "engine/json_text.hpp"

namespace streambed::engine {
namespace {

// A query item's key, percent-decoded (`t%6Fken` is `token` too, as the parser reads it).
std::string decoded_key(std::string_view item) {
    const std::string_view key = item.substr(0, item.find('='));
    std::string out;
    for (std::size_t i = 0; i < key.size(); ++i) {
        if (key[i] == '%' && i + 2 < key.size() &&
            std::isxdigit(static_cast<unsigned char>(key[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(key[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(key.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += key[i];
        }
    }
    return out;
}

}  // namespace

std::string presented_token(std::string_view authorization, std::string_view encoded_query) {
    constexpr std::string_view kBearer = "Bearer ";
    if (!authorization.empty()) {
        // The header wins when present: a malformed one presents no token at all.
        return authorization.starts_with(kBearer)
                   ? std::string(authorization.substr(kBearer.size()))
                   : std::string();
    }
    // Boost.URL 1.81 decodes the last value up to the next NUL: a terminated copy.
    const std::string query(encoded_query);
    auto params = boost::urls::parse_query(query);
    if (!params) return {};
    std::string token;
    for (auto p : *params)
        if (p.key.decode() == "token") token = p.value.decode();
    return token;
}

bool token_accepted(std::string_view expected, std::string_view presented) {
    if (expected.empty()) return true;
    // Every byte of the expected token is compared, whatever the presented one holds.
    volatile unsigned char diff = presented.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const unsigned char given =
            i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
        diff = static_cast<unsigned char>(diff | (given ^ static_cast<unsigned char>(expected[i])));
    }
    return diff == 0;
}

std::string unauthorized_body() {
    return json_text(nlohmann::json{
        {"error", "unauthorized"},
        {"message", "a valid token is required: 'Authorization: Bearer TOKEN' or ?token=TOKEN"}});
}

std::string redact_target(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return std::string(target);
    std::string out(target.substr(0, q + 1));
    std::string_view rest = target.substr(q + 1);
    bool first = true;
    while (true) {
        const auto amp = rest.find('&');
        std::string_view item = rest.substr(0, amp);
        if (!first) out += '&';
        first = false;
        if (decoded_key(item) == "token")
            out += "token=REDACTED";
        else
            out += item;
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return out;
}

}  // namespace streambed::engine
