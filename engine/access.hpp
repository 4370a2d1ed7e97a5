// access.hpp: the auth token (--auth-token) — which token a request presents, compared in
// constant time — the 401 answer, and the redaction that keeps tokens out of recordings.
#pragma once

#include <string>
#include <string_view>

namespace streambed::engine {

// The token a request presents: `Authorization: Bearer TOKEN` when that header is given (it wins),
// else the `token` parameter of the (encoded) query; "" when neither.
std::string presented_token(std::string_view authorization, std::string_view encoded_query);

// True when no token is configured, or `presented` equals it; the time taken depends only on
// the configured token's length, not on where the two differ.
bool token_accepted(std::string_view expected, std::string_view presented);

// The body of a 401 (the headers: WWW-Authenticate: Bearer).
std::string unauthorized_body();
inline constexpr std::string_view kWwwAuthenticate = R"(Bearer realm="streambed")";

// A request target with every `token=` query value replaced by `REDACTED`, for recordings and
// exports (the path and the other parameters are kept byte for byte).
std::string redact_target(std::string_view target);

}  // namespace streambed::engine
