// checkpoint.cpp: the cluster checkpoint as JSON and back (cold: once a simulated minute).
#include "cluster/checkpoint.hpp"

#include <nlohmann/json.hpp>

namespace streambed::cluster {
using json = nlohmann::json;

std::string Checkpoint::to_json() const {
    return json{{"n", n}, {"markMs", mark_ms}, {"seqs", seqs}, {"world", world}}.dump();
}

std::optional<Checkpoint> Checkpoint::parse(std::string_view text, std::string& error) {
    const auto j = json::parse(text, nullptr, false);
    if (!j.is_object()) {
        error = "the checkpoint is not a JSON object";
        return std::nullopt;
    }
    try {
        Checkpoint c;
        j.at("n").get_to(c.n);
        j.at("markMs").get_to(c.mark_ms);
        j.at("seqs").get_to(c.seqs);
        j.at("world").get_to(c.world);
        return c;
    } catch (const json::exception& e) {
        error = std::string("the checkpoint: ") + e.what();
        return std::nullopt;
    }
}

}  // namespace streambed::cluster
