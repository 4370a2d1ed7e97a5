// resp_command.hpp: a Redis command written in RESP (an array of bulk strings) into a buffer the
// caller keeps, for hiredis's redisAppendFormattedCommand: the same bytes as hiredis's own
// redisFormatCommandArgv, without its allocation and copy per word. The source writes one
// command per batch of messages, into a buffer it keeps, each message adding its own words.
#pragma once

#include <charconv>
#include <cstdint>
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

// The start of a command of `words` words, its words added after it: *WORDS\r\n.
inline void start_command(std::string& out, std::size_t words) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, words).ptr;
    out += '*';
    out.append(digits, end);
    out += "\r\n";
}

}  // namespace streambed::cluster::resp
