// The IDX format of (Fashion-)MNIST: a 4-byte magic (two zero bytes, the
// type code 0x08 = unsigned byte, the number of dimensions), one big-endian
// uint32 per dimension, then the values. Files may be gzip-compressed (as
// Debian's dataset-fashion-mnist installs them). Every size is checked
// against the header and kMaxIdxBytes before anything is allocated.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gsnn {

constexpr uint64_t kMaxIdxBytes = uint64_t{1} << 31;  // decompressed data, 2 GiB

// A uint8 tensor with the file's dimensions. Throws std::runtime_error
// naming the file for a missing or unreadable file, a wrong magic, a type
// other than unsigned byte, more than 4 dimensions, one of size 0, a size above
// kMaxIdxBytes, data shorter or longer than the header says, or a gzip
// stream that ends early.
// `check_shape`, if given, sees the header's shape before any data is read
// and throws to refuse it (a model's image size), so that a small gzip file
// announcing a wrong shape is not inflated first.
torch::Tensor read_idx(const std::string& path,
                       const std::function<void(const std::vector<int64_t>&)>& check_shape = {});

}  // namespace gsnn
