// json_text.hpp: serializes a JSON value without ever throwing. Text that came from a client
// (a path, an action name) may hold invalid UTF-8; it is replaced, never allowed to abort.
#pragma once

#include <string>

namespace streambed::engine {

template <class Json>
std::string json_text(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace streambed::engine
