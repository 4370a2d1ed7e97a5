// thread_name.hpp: names the calling thread as `top -H`, `perf` and debuggers show it (Linux
// keeps 15 characters): the I/O threads, the source, the cluster's Redis threads, the recorder.
#pragma once

#include <pthread.h>

#include <string>

namespace streambed::engine {

inline void name_this_thread(const std::string& name) {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace streambed::engine
