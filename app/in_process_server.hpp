// in_process_server.hpp: `streambed run --in-process` — the scenario's server in the runner's own
// process, built from the very `serve` arguments the child would get, so the two modes run the
// same server. A kill stops its threads where they are and drops every connection without a
// close frame; the recording is then finished (in one process nothing can lose its tail).
#pragma once

#include "runner/server_handle.hpp"

namespace streambed::app {

runner::ServerFactory in_process_server();

}  // namespace streambed::app
