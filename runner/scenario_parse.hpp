// scenario_parse.hpp: reading a scenario file (JSON with comments; docs/scenarios.md) into the
// Scenario model, with strict validation: the result is either a checked scenario or one error
// naming the place (line and column for a syntax error, the field's path otherwise) and what
// was expected. Never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runner/scenario.hpp"

namespace streambed::runner {

struct ParseResult {
    std::optional<Scenario> scenario;  // set on success ...
    std::string error;  // ... else the one error, e.g. "groups[0].clinets: unknown field (did you
                        // mean 'clients'?)"
};

ParseResult parse_scenario(std::string_view text);
// The file's content through parse_scenario; every error is prefixed "PATH: ", and a file that
// cannot be read is named as such.
ParseResult load_scenario(const std::string& path);

}  // namespace streambed::runner
