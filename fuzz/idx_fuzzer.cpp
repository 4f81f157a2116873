// libFuzzer harness: the IDX image reader (plain or gzip) on arbitrary bytes,
// read from a file as gsnn predict reads one. Every input must end in a
// tensor (all of whose bytes are read, for AddressSanitizer to check) or a
// std::exception, never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto path = (std::filesystem::temp_directory_path() /
                            ("gsnn_idx_fuzz_" + std::to_string(::getpid()) + ".idx"))
                               .string();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    const auto images = gsnn::read_idx(path);
    if (images.scalar_type() != torch::kUInt8 || images.dim() < 1 || images.dim() > 4)
      __builtin_trap();
    volatile int64_t sum = images.sum().item<int64_t>();  // touches every byte
    (void)sum;
  } catch (const std::exception&) {
  }
  return 0;
}
