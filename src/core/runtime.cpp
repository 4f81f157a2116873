// Implements init_runtime: glibc allocator thresholds and LibTorch threads.
#include "core/runtime.hpp"

#include <ATen/Parallel.h>
#include <malloc.h>
#include <torch/cuda.h>
#include <torch/types.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace gsnn {

void init_runtime(const RuntimeOptions& options) {
  static std::once_flag allocator_once;
  if (options.tune_allocator) {
    std::call_once(allocator_once, [] {
      const char* opt_out = std::getenv("GSNN_NO_MALLOPT");
      if (opt_out && std::string(opt_out) == "1") return;
      // Without these, glibc unmaps every large autograd buffer after each step,
      // which made training steps 2-3x slower (DESIGN.md).
      mallopt(M_MMAP_THRESHOLD, 64 << 20);
      mallopt(M_TRIM_THRESHOLD, 256 << 20);
    });
  }
  if (options.threads > 0 && at::get_num_threads() != options.threads) {
    at::set_num_threads(options.threads);
  }
}

void check_device(const std::string& device) {
  c10::optional<torch::Device> parsed;
  try {
    parsed = torch::Device(device);
  } catch (const c10::Error&) {
    throw std::invalid_argument("device '" + device + "' is not a device (use cpu, cuda, cuda:N)");
  }
  if (parsed->is_cpu()) return;
  if (!parsed->is_cuda())
    throw std::invalid_argument("device '" + device + "': only cpu and cuda are supported");
  if (!torch::cuda::is_available())
    throw std::invalid_argument("device '" + device +
                                "': this LibTorch has no CUDA or the machine has no GPU");
  if (parsed->has_index() && parsed->index() >= static_cast<int>(torch::cuda::device_count()))
    throw std::invalid_argument("device '" + device + "': no such GPU");
}

}  // namespace gsnn
