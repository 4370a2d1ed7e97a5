// consistency_test.cpp: ten simulated minutes of several seeds against the spec's rules — the
// envelope, required fields, chained blocks, totals that add up, known validators, quorums, and
// the cadences of states, blocks and transactions.
#include "simulator/simulator_source.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/hub.hpp"
#include "tests/simulator/publish_log.hpp"

namespace streambed::simulator {
using json = nlohmann::json;

namespace {

using engine::Endpoint;
using engine::MessagePtr;
using engine::MessageType;
using engine::StreamId;

// ---- consistency, required fields, cadences -----------------------------------------------

struct Parsed {
    std::string type;
    std::uint64_t seq;
    std::int64_t time;
    json data;
};

bool is_validator_id(const std::string& id) {
    static const std::set<std::string> ids = {"val-1", "val-2", "val-3", "val-4",
                                              "val-5", "val-6", "val-7"};
    return ids.count(id) > 0;
}

// Every string value anywhere in `j` that looks like a validator id.
void collect_validator_refs(const json& j, std::vector<std::string>& out) {
    if (j.is_string()) {
        const auto& s = j.get_ref<const std::string&>();
        if (s.rfind("val-", 0) == 0) out.push_back(s);
    } else if (j.is_structured()) {
        for (const auto& v : j) collect_validator_refs(v, out);
    }
}

void expect_fields(const Parsed& m) {
    const json& d = m.data;
    auto uint = [&](const char* k) {
        EXPECT_TRUE(d.contains(k) && d[k].is_number_unsigned())
            << m.type << "." << k << " in " << d;
    };
    auto num = [&](const char* k) {
        EXPECT_TRUE(d.contains(k) && d[k].is_number()) << m.type << "." << k << " in " << d;
    };
    auto str = [&](const char* k) {
        EXPECT_TRUE(d.contains(k) && d[k].is_string()) << m.type << "." << k << " in " << d;
    };
    auto one_of = [&](const char* k, std::set<std::string> allowed) {
        EXPECT_TRUE(d.contains(k) && d[k].is_string() && allowed.count(d[k].get<std::string>()))
            << m.type << "." << k << " in " << d;
    };
    if (m.type == "channel_update") {
        uint("blockHeight"), uint("txCount"), num("tps"), uint("pendingTx"), num("avgLatencyMs");
        one_of("status", {"active", "degraded", "halted"});
    } else if (m.type == "block") {
        uint("height"), str("hash"), str("parentHash"), uint("txCount"), str("proposer");
    } else if (m.type == "transaction") {
        str("id"), str("from"), str("to"), num("amount"), num("fee"), uint("blockHeight");
    } else if (m.type == "validator_update") {
        str("id"), num("stake"), num("votingPower"), num("uptime"), uint("missedBlocks");
        one_of("status", {"active", "jailed", "offline"});
    } else if (m.type == "consensus_update") {
        uint("height"), uint("round"), str("leader"), uint("votes"), uint("quorum");
        one_of("phase", {"propose", "prevote", "precommit", "commit"});
    } else if (m.type == "network_status") {
        uint("peers"), num("avgLatencyMs"), num("inboundKbps"), num("outboundKbps");
        one_of("health", {"healthy", "degraded", "partitioned"});
    } else if (m.type == "metrics") {
        num("tps"), uint("txTotal"), uint("blockHeight"), num("cpuPercent"), num("memoryMb");
    } else {
        ADD_FAILURE() << "unexpected type " << m.type;
    }
}

// The times of a fixed cadence: first, first + every, ... up to `last`.
std::vector<std::int64_t> cadence(std::int64_t first, std::int64_t every, std::int64_t last) {
    std::vector<std::int64_t> out;
    for (auto t = first; t <= last; t += every) out.push_back(t);
    return out;
}

class Consistency : public ::testing::TestWithParam<std::uint64_t> {
  protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(run_to_end(fast(GetParam(), kTenMinutes), rec_));
        for (auto& s : rec_.streams()) {
            auto& out = parsed_[{s.endpoint, s.channel}];
            for (auto& m : s.messages) {
                json env = json::parse(m->bytes);
                ASSERT_TRUE(env.is_object());
                // The envelope: exactly these keys, matching the stream and the message.
                ASSERT_EQ(env.size(), 5u) << m->bytes;
                ASSERT_EQ(env["type"], std::string(engine::name(m->type))) << m->bytes;
                ASSERT_EQ(env["channel"], s.channel) << m->bytes;
                ASSERT_EQ(env["seq"], m->seq) << m->bytes;
                ASSERT_EQ(env["time"], m->time_ms) << m->bytes;
                ASSERT_TRUE(env["data"].is_object()) << m->bytes;
                out.push_back({env["type"].get<std::string>(), m->seq, m->time_ms, env["data"]});
            }
        }
    }

    const std::vector<Parsed>& stream(Endpoint e, const std::string& channel) {
        return parsed_[{e, channel}];
    }
    static std::string ch(int i) { return "ch-" + std::to_string(i); }
    static std::vector<std::int64_t> times_of(const std::vector<Parsed>& ms,
                                              const std::string& type) {
        std::vector<std::int64_t> out;
        for (auto& m : ms)
            if (m.type == type) out.push_back(m.time);
        return out;
    }

    PublishLog rec_;
    std::map<std::pair<Endpoint, std::string>, std::vector<Parsed>> parsed_;
};

TEST_P(Consistency, SeqIsGaplessAndTimeNeverGoesBack) {
    ASSERT_EQ(parsed_.size(), 26u);
    for (auto& [key, ms] : parsed_) {
        SCOPED_TRACE(key.second);
        ASSERT_FALSE(ms.empty());
        for (std::size_t i = 0; i < ms.size(); ++i) {
            ASSERT_EQ(ms[i].seq, i + 1);
            if (i) {
                ASSERT_GE(ms[i].time, ms[i - 1].time);
            }
            ASSERT_GT(ms[i].time, kEpoch);
            ASSERT_LE(ms[i].time, kEpoch + kTenMinutes);
        }
    }
}

TEST_P(Consistency, EveryMessageHasItsRequiredFields) {
    const std::map<Endpoint, std::set<std::string>> types = {
        {Endpoint::channels, {"channel_update", "block"}},
        {Endpoint::transactions, {"transaction"}},
        {Endpoint::validators, {"validator_update"}},
        {Endpoint::consensus, {"consensus_update"}},
        {Endpoint::network, {"network_status"}},
        {Endpoint::metrics, {"metrics"}}};
    for (auto& [key, ms] : parsed_) {
        SCOPED_TRACE(key.second);
        for (auto& m : ms) {
            ASSERT_TRUE(types.at(key.first).count(m.type)) << m.type << " on the wrong endpoint";
            expect_fields(m);
            if (HasFailure()) return;  // one broken message is enough evidence
        }
    }
}

TEST_P(Consistency, BlocksChainPerChannel) {
    for (int c = 1; c <= 8; ++c) {
        SCOPED_TRACE(ch(c));
        std::uint64_t height = 0;
        std::string hash;
        for (auto& m : stream(Endpoint::channels, ch(c))) {
            if (m.type != "block") continue;
            ASSERT_EQ(m.data.at("height"), height + 1) << m.data;
            if (height > 0) {
                ASSERT_EQ(m.data.at("parentHash"), hash) << m.data;
            }
            ASSERT_NE(m.data.at("hash"), m.data.at("parentHash")) << m.data;
            height = m.data.at("height").get<std::uint64_t>();
            hash = m.data.at("hash").get<std::string>();
        }
        EXPECT_EQ(height, 120u);  // blocks at 3 s, 8 s, ... 598 s
    }
}

TEST_P(Consistency, TransactionsNamingABlockNumberItsTxCount) {
    for (int c = 1; c <= 8; ++c) {
        SCOPED_TRACE(ch(c));
        std::map<std::uint64_t, std::uint64_t> named;         // blockHeight -> transactions
        std::map<std::uint64_t, std::int64_t> last_named_at;  // blockHeight -> latest tx time
        for (auto& m : stream(Endpoint::transactions, ch(c))) {
            const auto h = m.data.at("blockHeight").get<std::uint64_t>();
            ++named[h];
            last_named_at[h] = m.time;
        }
        std::map<std::uint64_t, std::uint64_t> blocks;  // height -> txCount
        std::map<std::uint64_t, std::int64_t> block_at;
        for (auto& m : stream(Endpoint::channels, ch(c))) {
            if (m.type != "block") continue;
            const auto h = m.data.at("height").get<std::uint64_t>();
            blocks[h] = m.data.at("txCount").get<std::uint64_t>();
            block_at[h] = m.time;
        }
        ASSERT_FALSE(blocks.empty());
        std::uint64_t total = 0;
        for (auto& [h, count] : blocks) {
            EXPECT_EQ(named[h], count) << "block " << h;
            total += count;
            // A transaction is published no later than the block that confirms it.
            if (named[h]) {
                EXPECT_LE(last_named_at[h], block_at[h]) << "block " << h;
            }
        }
        EXPECT_GT(total, 0u);
        // Transactions name only published blocks, or the one block still to come.
        for (auto& [h, count] : named)
            EXPECT_TRUE(blocks.count(h) || h == blocks.rbegin()->first + 1)
                << count << " transactions name block " << h;
    }
}

TEST_P(Consistency, ChannelUpdatesAgreeWithTheBlocks) {
    for (int c = 1; c <= 8; ++c) {
        SCOPED_TRACE(ch(c));
        const auto& ms = stream(Endpoint::channels, ch(c));
        // In stream order: what a client has seen so far.
        std::uint64_t height = 0, confirmed = 0;
        for (auto& m : ms) {
            if (m.type == "block") {
                height = m.data.at("height").get<std::uint64_t>();
                confirmed += m.data.at("txCount").get<std::uint64_t>();
            } else {
                ASSERT_EQ(m.data.at("blockHeight"), height) << "at " << m.time << ": " << m.data;
                ASSERT_EQ(m.data.at("txCount"), confirmed) << "at " << m.time << ": " << m.data;
            }
        }
        // By time: the blocks whose time is at or before the update's time.
        for (auto& u : ms) {
            if (u.type != "channel_update") continue;
            std::uint64_t h = 0, sum = 0;
            for (auto& b : ms)
                if (b.type == "block" && b.time <= u.time) {
                    h = b.data.at("height").get<std::uint64_t>();
                    sum += b.data.at("txCount").get<std::uint64_t>();
                }
            ASSERT_EQ(u.data.at("blockHeight"), h) << "at " << u.time;
            ASSERT_EQ(u.data.at("txCount"), sum) << "at " << u.time;
        }
    }
}

TEST_P(Consistency, MetricsTotalsAreTheSumOverChannels) {
    const auto& metrics = stream(Endpoint::metrics, "metrics");
    ASSERT_FALSE(metrics.empty());
    for (auto& m : metrics) {
        std::uint64_t tx_total = 0, heights = 0;
        for (int c = 1; c <= 8; ++c) {
            const Parsed* latest = nullptr;  // the channel's latest update at the metrics' time
            for (auto& u : stream(Endpoint::channels, ch(c)))
                if (u.type == "channel_update" && u.time <= m.time) latest = &u;
            if (!latest) continue;
            tx_total += latest->data.at("txCount").get<std::uint64_t>();
            heights += latest->data.at("blockHeight").get<std::uint64_t>();
        }
        ASSERT_EQ(m.data.at("txTotal"), tx_total) << "at " << m.time;
        ASSERT_EQ(m.data.at("blockHeight"), heights) << "at " << m.time;
    }
}

TEST_P(Consistency, EveryValidatorIdIsKnown) {
    std::size_t refs = 0;
    std::set<std::string> proposers, leaders;
    for (auto& [key, ms] : parsed_) {
        if (key.first == Endpoint::validators) {
            EXPECT_TRUE(is_validator_id(key.second)) << key.second;
        }
        for (auto& m : ms) {
            std::vector<std::string> named;
            collect_validator_refs(m.data, named);
            for (auto& id : named) EXPECT_TRUE(is_validator_id(id)) << id << " in " << m.data;
            refs += named.size();
            if (m.type == "validator_update") {
                EXPECT_EQ(m.data.at("id"), key.second);
            }
            if (m.type == "block") {
                EXPECT_TRUE(is_validator_id(m.data.at("proposer").get<std::string>())) << m.data;
                proposers.insert(m.data.at("proposer").get<std::string>());
            }
            if (m.type == "consensus_update") {
                EXPECT_TRUE(is_validator_id(m.data.at("leader").get<std::string>())) << m.data;
                leaders.insert(m.data.at("leader").get<std::string>());
            }
        }
    }
    EXPECT_GT(refs, 0u);
    EXPECT_FALSE(proposers.empty());
    EXPECT_FALSE(leaders.empty());
}

// A round moves past propose only with a quorum of votes, and every phase follows the last:
// propose -> prevote -> precommit -> commit -> (height + 1) propose, or a failed round at
// propose or later -> propose of the next round at the same height.
TEST_P(Consistency, ConsensusPhasesAdvanceOnlyWithAQuorum) {
    const char* order[] = {"propose", "prevote", "precommit", "commit"};
    auto index_of = [&](const std::string& phase) {
        for (int i = 0; i < 4; ++i)
            if (phase == order[i]) return i;
        return -1;
    };
    int previous = -1;
    std::uint64_t height = 0, round = 0;
    std::size_t updates = 0;
    for (const auto& m : stream(Endpoint::consensus, "consensus")) {
        const int phase = index_of(m.data.at("phase").get<std::string>());
        ASSERT_GE(phase, 0) << m.data;
        const auto h = m.data.at("height").get<std::uint64_t>(),
                   r = m.data.at("round").get<std::uint64_t>();
        if (phase > 0) {
            EXPECT_GE(m.data.at("votes").get<std::uint64_t>(),
                      m.data.at("quorum").get<std::uint64_t>())
                << m.data;
            EXPECT_EQ(phase, previous + 1) << m.data;
            EXPECT_EQ(h, height);
            EXPECT_EQ(r, round);
        } else if (previous == 3) {
            EXPECT_EQ(h, height + 1) << m.data;  // committed: the next height
        } else if (previous >= 0) {
            EXPECT_EQ(h, height) << m.data;  // a failed round: same height, a later round
            EXPECT_GT(r, round) << m.data;
        }
        previous = phase;
        height = h;
        round = r;
        ++updates;
    }
    EXPECT_GT(updates, 100u);
}

TEST_P(Consistency, StatesEveryTwoSecondsBlocksEveryFiveFromThree) {
    const auto every_2s = cadence(kEpoch + 2000, 2000, kEpoch + kTenMinutes);
    const auto blocks = cadence(kEpoch + 3000, 5000, kEpoch + kTenMinutes);
    ASSERT_EQ(every_2s.size(), 300u);
    ASSERT_EQ(blocks.size(), 120u);
    for (int c = 1; c <= 8; ++c) {
        SCOPED_TRACE(ch(c));
        EXPECT_EQ(times_of(stream(Endpoint::channels, ch(c)), "channel_update"), every_2s);
        EXPECT_EQ(times_of(stream(Endpoint::channels, ch(c)), "block"), blocks);
    }
    for (int v = 1; v <= 7; ++v) {
        const std::string id = "val-" + std::to_string(v);
        EXPECT_EQ(times_of(stream(Endpoint::validators, id), "validator_update"), every_2s) << id;
    }
    EXPECT_EQ(times_of(stream(Endpoint::consensus, "consensus"), "consensus_update"), every_2s);
    EXPECT_EQ(times_of(stream(Endpoint::network, "network"), "network_status"), every_2s);
    EXPECT_EQ(times_of(stream(Endpoint::metrics, "metrics"), "metrics"), every_2s);
}

TEST_P(Consistency, TransactionsArriveAtAboutTheConfiguredRate) {
    // 4 per second per channel (Poisson): about 2,400 in ten minutes; +-10% is over 4 sigma.
    for (int c = 1; c <= 8; ++c) {
        const auto& txs = stream(Endpoint::transactions, ch(c));
        EXPECT_GT(txs.size(), 2160u) << ch(c);
        EXPECT_LT(txs.size(), 2640u) << ch(c);
        std::set<std::string> ids;
        for (auto& t : txs) ids.insert(t.data.at("id").get<std::string>());
        EXPECT_EQ(ids.size(), txs.size()) << ch(c) << ": transaction ids repeat";
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, Consistency, ::testing::Values(1u, 7u, 42u),
                         [](const auto& seed) { return "seed" + std::to_string(seed.param); });

}  // namespace
}  // namespace streambed::simulator
