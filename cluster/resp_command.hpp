// resp_command.hpp: a Redis command written in RESP (an array of bulk strings) into a buffer the
// caller keeps, for hiredis's redisAppendFormattedCommand: the same bytes as hiredis's own
// redisFormatCommandArgv, without its allocation and copy per word. The source appends one
// command per message, most of whose words (the script, its keys) never change: those are
// written once, as a prefix, and each message adds its own words to a copy of it.
#pragma once

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace streambed::cluster::resp {

// One word, as a bulk string: $LENGTH\r\nBYTES\r\n.
inline void add_word(std::string& out, std::string_view word) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, word.size()).ptr;
    out += '$';
    out.append(digits, end);
    out += "\r\n";
    out += word;
    out += "\r\n";
}

// A number, as Redis reads it: its decimal text.
inline void add_word(std::string& out, std::int64_t number) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
    add_word(out, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

// The start of a command whose first words are `first`, followed by `more` added after it.
inline std::string command_prefix(std::initializer_list<std::string_view> first, std::size_t more) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, first.size() + more).ptr;
    std::string out = "*";
    out.append(digits, end);
    out += "\r\n";
    for (std::string_view w : first) add_word(out, w);
    return out;
}

}  // namespace streambed::cluster::resp
