// Process-wide LibTorch set-up that decides speed on small models (DESIGN.md,
// "measured facts"): allocator thresholds and the intra-op thread count.
#pragma once

#include <string>

namespace gsnn {

struct RuntimeOptions {
  int threads = 1;  // intra-op threads (1 is fastest on small, busy machines); 0 = leave as is
  bool tune_allocator = true;  // keep freed autograd buffers instead of returning them to the OS
};

// Applies the options. Safe to call more than once; the allocator part runs once.
// The environment variable GSNN_NO_MALLOPT=1 opts out of the allocator tuning.
void init_runtime(const RuntimeOptions& options = {});

// Upper bound on intra-op threads: more than this is a typo, not a setting.
constexpr int kMaxThreads = 1024;

// Checks a device string ("cpu", "cuda", "cuda:1") against this build and
// machine; throws std::invalid_argument with a one-line reason.
void check_device(const std::string& device);

}  // namespace gsnn
