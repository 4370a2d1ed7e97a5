// session_driver.hpp: the re-drive behind `verify` — each recorded session connects again to
// the same target, sends its recorded frames at their recorded instants, and collects what comes
// back until its recorded end plus a linger. All sessions run concurrently on one thread.
#pragma once

#include <cstdint>
#include <vector>

#include "recorder/verify.hpp"

namespace streambed::recorder {

// Drives `sessions` against ws://127.0.0.1:port. A recorded wall instant w is played at
// w + shift_us (system clock, µs); the observed frames come back on the recording's timeline.
// Each session connects at its opened_us, sends its frames, and closes (1000) at end_us +
// linger_us unless the server closed it first. Blocks until every session is done; one
// Observed per session, in order.
std::vector<Observed> drive_sessions(std::uint16_t port,
                                     const std::vector<RecordedSession>& sessions,
                                     std::int64_t shift_us, std::int64_t linger_us);

}  // namespace streambed::recorder
