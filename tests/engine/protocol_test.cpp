// protocol_test.cpp: parsing of client messages and the exact JSON shapes of control messages.
#include "engine/protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace streambed::engine {
using json = nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}
bool lacks(const std::string& text, const std::string& part) {
    return !contains(text, part);
}

// The request parsed from `text`, which the test requires to be of type T.
template <class T>
T expect_request(std::string_view text) {
    auto req = parse_client_message(text);
    if (auto* got = std::get_if<T>(&req)) return *got;
    if (auto* err = std::get_if<ProtocolError>(&req))
        ADD_FAILURE() << text << " -> error " << name(err->code) << ": " << err->message;
    else
        ADD_FAILURE() << text << " -> a request of another kind";
    return T{};
}

// The error returned for `text`; fails the test when `text` parses as a request.
ProtocolError expect_error(std::string_view text) {
    auto req = parse_client_message(text);
    if (auto* err = std::get_if<ProtocolError>(&req)) return *err;
    ADD_FAILURE() << text << " was accepted";
    return {ErrorCode::rate_limited, ""};  // a code no parse ever returns, so checks fail too
}

// ---- subscribe / unsubscribe --------------------------------------------------------------

TEST(ParseClientMessage, Subscribe) {
    auto req =
        expect_request<SubscribeRequest>(R"({"action":"subscribe","channels":["ch-1","ch-2"]})");
    EXPECT_TRUE(req.subscribe);
    EXPECT_EQ(req.channels, (std::vector<std::string>{"ch-1", "ch-2"}));
    EXPECT_FALSE(req.has_since);
    EXPECT_TRUE(req.since.empty());
}

TEST(ParseClientMessage, SubscribeKeepsChannelOrderAndWildcard) {
    auto req = expect_request<SubscribeRequest>(
        R"({"channels":["ch-9","*","ch-1"],"action":"subscribe"})");
    EXPECT_EQ(req.channels, (std::vector<std::string>{"ch-9", "*", "ch-1"}));
}

TEST(ParseClientMessage, Unsubscribe) {
    auto req = expect_request<SubscribeRequest>(R"({"action":"unsubscribe","channels":["ch-3"]})");
    EXPECT_FALSE(req.subscribe);
    EXPECT_EQ(req.channels, (std::vector<std::string>{"ch-3"}));
    EXPECT_FALSE(req.has_since);
}

TEST(ParseClientMessage, SubscribeWithSince) {
    auto req = expect_request<SubscribeRequest>(
        R"({"action":"subscribe","channels":["ch-1","ch-2"],"since":{"ch-1":1041,"ch-2":0}})");
    EXPECT_TRUE(req.subscribe);
    EXPECT_TRUE(req.has_since);
    EXPECT_EQ(req.since, (std::map<std::string, std::uint64_t>{{"ch-1", 1041}, {"ch-2", 0}}));
}

TEST(ParseClientMessage, SubscribeWithSinceAndEpoch) {
    auto req = expect_request<SubscribeRequest>(
        R"({"action":"subscribe","channels":["ch-1"],"since":{"ch-1":7},"epoch":"sim-00ff"})");
    ASSERT_TRUE(req.epoch);
    EXPECT_EQ(*req.epoch, "sim-00ff");
    EXPECT_FALSE(
        expect_request<SubscribeRequest>(R"({"action":"subscribe","channels":["ch-1"]})").epoch);
}

TEST(ParseClientMessage, NonStringEpochIsBadRequest) {
    for (const char* text :
         {R"({"action":"subscribe","channels":["ch-1"],"since":{"ch-1":7},"epoch":7})",
          R"({"action":"subscribe","channels":["ch-1"],"epoch":null})",
          R"({"action":"subscribe","channels":["ch-1"],"since":{},"epoch":["a"]})"}) {
        SCOPED_TRACE(text);
        auto err = expect_error(text);
        EXPECT_EQ(name(err.code), "bad_request");
        EXPECT_PRED2(contains, err.message, "epoch");
    }
}

TEST(ParseClientMessage, SinceAcceptsTheLargestSeq) {
    auto req = expect_request<SubscribeRequest>(
        R"({"action":"subscribe","channels":["ch-1"],"since":{"ch-1":18446744073709551615}})");
    ASSERT_EQ(req.since.count("ch-1"), 1u);
    EXPECT_EQ(req.since.at("ch-1"), 18446744073709551615ull);
}

TEST(ParseClientMessage, EmptySinceStillMarksTheRequestAsResuming) {
    // `recovered` is sent whenever the subscribe carried `since`, even an empty one.
    auto req =
        expect_request<SubscribeRequest>(R"({"action":"subscribe","channels":["a"],"since":{}})");
    EXPECT_TRUE(req.has_since);
    EXPECT_TRUE(req.since.empty());
}

// ---- ping -----------------------------------------------------------------------------------

TEST(ParseClientMessage, PingWithNumericId) {
    auto ping = expect_request<PingRequest>(R"({"action":"ping","id":7})");
    EXPECT_EQ(json::parse(ping.id_json), json(7));
    EXPECT_EQ(json::parse(pong_json(ping)), json::parse(R"({"type":"pong","id":7})"));
}

TEST(ParseClientMessage, PingWithStringId) {
    auto ping = expect_request<PingRequest>(R"({"action":"ping","id":"abc \"q\""})");
    EXPECT_EQ(json::parse(ping.id_json), json("abc \"q\""));
    EXPECT_EQ(json::parse(pong_json(ping)), json::parse(R"({"type":"pong","id":"abc \"q\""})"));
}

TEST(ParseClientMessage, PingWithStructuredIdEchoesItUnchanged) {
    auto ping = expect_request<PingRequest>(R"({"action":"ping","id":{"n":[1,2.5,null]}})");
    EXPECT_EQ(json::parse(pong_json(ping)),
              json::parse(R"({"type":"pong","id":{"n":[1,2.5,null]}})"));
}

TEST(ParseClientMessage, PingWithoutId) {
    auto ping = expect_request<PingRequest>(R"({"action":"ping"})");
    EXPECT_TRUE(ping.id_json.empty());
    EXPECT_EQ(json::parse(pong_json(ping)), json::parse(R"({"type":"pong"})"));
}

// ---- refusals -------------------------------------------------------------------------------

TEST(ParseClientMessage, MalformedJsonIsBadJson) {
    for (std::string_view text :
         {"", "{", "not json", R"({"action":"ping")", R"({"action":"ping",})",
          R"({'action':'ping'})", R"({"action":"ping"} {"action":"ping"})",
          "{\"action\":\"p\xff\"}" /* invalid UTF-8 */}) {
        SCOPED_TRACE(text);
        auto err = expect_error(text);
        EXPECT_EQ(name(err.code), "bad_json");
        EXPECT_FALSE(err.message.empty());
    }
}

TEST(ParseClientMessage, JsonThatIsNotAnObjectIsBadRequest) {
    for (std::string_view text :
         {R"([{"action":"ping"}])", "[]", "42", R"("subscribe")", "null", "true"}) {
        SCOPED_TRACE(text);
        auto err = expect_error(text);
        EXPECT_EQ(name(err.code), "bad_request");
        EXPECT_PRED2(contains, err.message, "object");
    }
}

TEST(ParseClientMessage, MissingOrNonStringActionIsBadRequest) {
    for (std::string_view text :
         {R"({})", R"({"channels":["ch-1"]})", R"({"action":1})", R"({"action":null})",
          R"({"action":["subscribe"]})", R"({"action":{"name":"ping"}})", R"({"Action":"ping"})"}) {
        SCOPED_TRACE(text);
        auto err = expect_error(text);
        EXPECT_EQ(name(err.code), "bad_request");
        EXPECT_PRED2(contains, err.message, "action");
    }
}

TEST(ParseClientMessage, UnknownActionNamesIt) {
    auto err = expect_error(R"({"action":"publish","channels":["ch-1"]})");
    EXPECT_EQ(name(err.code), "unknown_action");
    EXPECT_PRED2(contains, err.message, "'publish'");
}

TEST(ParseClientMessage, ActionsAreCaseSensitive) {
    for (std::string_view text :
         {R"({"action":"Subscribe","channels":["a"]})", R"({"action":"PING"})", R"({"action":""})",
          R"({"action":" ping"})"}) {
        SCOPED_TRACE(text);
        EXPECT_EQ(name(expect_error(text).code), "unknown_action");
    }
}

TEST(ParseClientMessage, VeryLongUnknownActionIsTruncatedInTheMessage) {
    const std::string action(10'000, 'x');
    auto err = expect_error(R"({"action":")" + action + R"("})");
    EXPECT_EQ(name(err.code), "unknown_action");
    EXPECT_PRED2(contains, err.message, std::string(64, 'x') + "...");
    EXPECT_PRED2(lacks, err.message, std::string(65, 'x'));
    EXPECT_LT(err.message.size(), 200u);
}

TEST(ParseClientMessage, TruncatedActionStaysValidUtf8) {
    // 'a' then 2-byte characters: a cut at byte 64 would split one in half. The message goes
    // straight into error_json, which must still produce a valid JSON document.
    std::string action = "a";
    for (int i = 0; i < 60; ++i) action += "\xc3\xa9";  // é
    auto err = expect_error(R"({"action":")" + action + R"("})");
    EXPECT_EQ(name(err.code), "unknown_action");
    EXPECT_NO_THROW(json::parse(R"(")" + err.message + R"(")")) << "message is not valid UTF-8";
    std::string out;
    ASSERT_NO_THROW(out = error_json(err.code, err.message));
    EXPECT_EQ(json::parse(out)["code"], "unknown_action");
}

TEST(ParseClientMessage, BadChannelsAreBadRequest) {
    for (std::string_view action : {"subscribe", "unsubscribe"}) {
        for (std::string_view channels :
             {R"("ch-1")", R"({"ch-1":true})", "null", "1", "[]", "[1]", R"(["ch-1",2])",
              R"(["ch-1",null])", R"([["ch-1"]])", R"([{"id":"ch-1"}])"}) {
            const std::string text = R"({"action":")" + std::string(action) + R"(","channels":)" +
                                     std::string(channels) + "}";
            SCOPED_TRACE(text);
            auto err = expect_error(text);
            EXPECT_EQ(name(err.code), "bad_request");
            EXPECT_PRED2(contains, err.message, "channels");
        }
        const std::string missing = R"({"action":")" + std::string(action) + R"("})";
        SCOPED_TRACE(missing);
        auto err = expect_error(missing);
        EXPECT_EQ(name(err.code), "bad_request");
        EXPECT_PRED2(contains, err.message, "channels");
    }
}

TEST(ParseClientMessage, BadSinceIsBadRequest) {
    for (std::string_view since :
         {R"("ch-1:5")", "5", "[5]", "null", "true", R"({"ch-1":-1})", R"({"ch-1":1.5})",
          R"({"ch-1":"5"})", R"({"ch-1":null})", R"({"ch-1":[5]})", R"({"ch-1":5,"ch-2":-7})",
          R"({"ch-1":1e30})"}) {
        const std::string text = R"({"action":"subscribe","channels":["ch-1","ch-2"],"since":)" +
                                 std::string(since) + "}";
        SCOPED_TRACE(text);
        auto err = expect_error(text);
        EXPECT_EQ(name(err.code), "bad_request");
        EXPECT_PRED2(contains, err.message, "since");
    }
}

TEST(ParseClientMessage, BadSinceNamesTheChannel) {
    auto err = expect_error(R"({"action":"subscribe","channels":["ch-7"],"since":{"ch-7":-3}})");
    EXPECT_EQ(name(err.code), "bad_request");
    EXPECT_PRED2(contains, err.message, "ch-7");
}

// ---- control messages -----------------------------------------------------------------------

TEST(ControlMessages, WelcomeHasExactlyTheSpecFields) {
    const ClockAnchor clock{1762732800123, 1700000000123456, 2.5};
    const std::string text =
        welcome_json(Endpoint::channels, "s-42", {"ch-1", "ch-2"}, 15000, clock, "sim-0123");
    const json w = json::parse(text);
    EXPECT_EQ(w, json::parse(R"({"type":"welcome","protocol":1,"endpoint":"/ws/channels",
        "session":"s-42","channels":["ch-1","ch-2"],"heartbeatMs":15000,
        "clock":{"time":1762732800123,"wall":1700000000123456,"scale":2.5},"epoch":"sim-0123"})"));
    // The documented key order: the spec's, then the epoch last.
    EXPECT_TRUE(text.starts_with(
        R"({"type":"welcome","protocol":1,"endpoint":"/ws/channels","session":"s-42",)"));
    EXPECT_TRUE(text.ends_with(R"("scale":2.5},"epoch":"sim-0123"})")) << text;
    EXPECT_TRUE(w["protocol"].is_number_integer());
    EXPECT_TRUE(w["clock"]["time"].is_number_integer());
    EXPECT_TRUE(w["clock"]["wall"].is_number_integer());
    EXPECT_TRUE(w["clock"]["scale"].is_number());
}

TEST(ControlMessages, WelcomeCarriesTheEndpointPath) {
    const std::vector<std::pair<Endpoint, std::string>> paths = {
        {Endpoint::channels, "/ws/channels"},     {Endpoint::transactions, "/ws/transactions"},
        {Endpoint::validators, "/ws/validators"}, {Endpoint::consensus, "/ws/consensus"},
        {Endpoint::network, "/ws/network"},       {Endpoint::metrics, "/ws/metrics"}};
    for (const auto& [endpoint, path] : paths) {
        const json w = json::parse(welcome_json(endpoint, "s", {}, 1000, ClockAnchor{}, "e"));
        EXPECT_EQ(w["endpoint"], path);
        EXPECT_EQ(w["channels"], json::array());
        EXPECT_EQ(w["type"], "welcome");
    }
}

TEST(ControlMessages, WelcomeEscapesTheSessionId) {
    const json w =
        json::parse(welcome_json(Endpoint::metrics, "a\"b\\c", {"metrics"}, 1, ClockAnchor{}, "e"));
    EXPECT_EQ(w["session"], "a\"b\\c");
}

TEST(ControlMessages, SubscribedWithoutRecovered) {
    EXPECT_EQ(json::parse(subscribed_json({"ch-1", "ch-2"}, nullptr)),
              json::parse(R"({"type":"subscribed","channels":["ch-1","ch-2"]})"));
}

TEST(ControlMessages, SubscribedWithRecovered) {
    const std::map<std::string, bool> recovered = {{"ch-1", true}, {"ch-2", false}};
    EXPECT_EQ(json::parse(subscribed_json({"ch-1", "ch-2"}, &recovered)),
              json::parse(R"({"type":"subscribed","channels":["ch-1","ch-2"],
                              "recovered":{"ch-1":true,"ch-2":false}})"));
}

TEST(ControlMessages, SubscribedWithEmptyRecoveredStillHasTheObject) {
    const std::map<std::string, bool> recovered;
    const json s = json::parse(subscribed_json({"ch-1"}, &recovered));
    ASSERT_TRUE(s.contains("recovered"));
    EXPECT_EQ(s["recovered"], json::object());
}

TEST(ControlMessages, Unsubscribed) {
    EXPECT_EQ(json::parse(unsubscribed_json({"ch-3", "*"})),
              json::parse(R"({"type":"unsubscribed","channels":["ch-3","*"]})"));
}

TEST(ControlMessages, Reset) {
    EXPECT_EQ(json::parse(reset_json("ch-1", 1050)),
              json::parse(R"({"type":"reset","channel":"ch-1","seq":1050,
                              "reason":"history_exceeded"})"));
}

TEST(ControlMessages, ResetForAnotherEpoch) {
    EXPECT_EQ(reset_json("ch-1", 12, Stream::ResetReason::epoch_changed),
              R"({"type":"reset","channel":"ch-1","seq":12,"reason":"epoch_changed"})");
}

TEST(ControlMessages, ErrorForEveryCode) {
    const std::vector<std::pair<ErrorCode, std::string>> codes = {
        {ErrorCode::bad_json, "bad_json"},
        {ErrorCode::bad_request, "bad_request"},
        {ErrorCode::unknown_action, "unknown_action"},
        {ErrorCode::unknown_channel, "unknown_channel"},
        {ErrorCode::too_many_subscriptions, "too_many_subscriptions"},
        {ErrorCode::rate_limited, "rate_limited"}};
    for (const auto& [code, text] : codes) {
        EXPECT_EQ(name(code), text);
        EXPECT_EQ(json::parse(error_json(code, "what went wrong")),
                  json({{"type", "error"}, {"code", text}, {"message", "what went wrong"}}));
    }
}

TEST(ControlMessages, ErrorEscapesItsMessage) {
    const std::string message = "bad \"quote\"\nnew line \\ and \x01 control";
    EXPECT_EQ(json::parse(error_json(ErrorCode::bad_request, message))["message"], message);
}

}  // namespace
}  // namespace streambed::engine
