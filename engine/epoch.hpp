// epoch.hpp: the stream epoch — a short string naming the world whose seqs a client reads. Two
// servers (or one before and after a restart) give the same epoch exactly when a seq names the
// same bytes on both; a resume under another epoch recovers nothing (docs/protocol.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace streambed::engine {

// PREFIX + the 64-bit xxHash of `identity` as 16 hex digits: a source names its world by the
// text that fixes it (the simulator's configuration, a recording's run).
std::string epoch_of(std::string_view prefix, std::string_view identity);
// PREFIX + 16 random hex digits: a world no other run shares (the flood, a hub without source).
std::string random_epoch(std::string_view prefix);
// True when a client named an epoch and it is not the server's: its seqs mean other bytes here.
inline bool foreign_epoch(const std::optional<std::string>& client, std::string_view server) {
    return client && *client != server;
}

}  // namespace streambed::engine
