// The safetensors format: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, "__metadata__": {..}}, then
// raw little-endian tensor bytes. Readable by the Python `safetensors`
// package or by hand (tests/python/read_model.py does it with numpy).
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace gsnn {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes F32/F64/I64 tensors (moved to CPU, made contiguous) atomically:
// to path + ".tmp", then renamed.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Largest weights file read (checked before reading): 2^28 float64 parameters and more.
constexpr uint64_t kMaxSafetensorsBytes = uint64_t{8} << 30;

struct SafetensorsFile {
  std::map<std::string, torch::Tensor> tensors;  // CPU tensors
  std::map<std::string, std::string> metadata;
};

// Reads and validates the whole file; throws std::runtime_error naming the
// file and the problem (truncated, bad header, unknown dtype, overlapping or
// out-of-range offsets, size mismatch).
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace gsnn
