// safetensors writer and strict reader.
#include "io/safetensors.hpp"

#include "io/config.hpp"
#include "io/files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace gsnn {
namespace {

constexpr uint64_t kMaxHeader = 100u << 20;

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  size_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat32, 4}, {"F64", torch::kFloat64, 8}, {"I64", torch::kInt64, 8}};

const DtypeInfo& dtype_of(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d;
  throw std::runtime_error("safetensors: unsupported tensor dtype");
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(fmt::format("{}: not a valid weights file: {}", path, what));
}

}  // namespace

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const auto& d = dtype_of(t.scalar_type());
    const uint64_t bytes = t.numel() * d.size;
    header[name] = {
        {"dtype", d.name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data to 8 bytes
  const std::string tmp = temporary_beside(path);
  try {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write file", path));
    uint64_t n = text.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    // x86-64 and aarch64 are little-endian, as the format requires.
    for (const auto& t : data)
      out.write(static_cast<const char*>(t.data_ptr()),
                static_cast<std::streamsize>(t.numel() * t.element_size()));
    close_or_throw(out, path);
  } catch (...) {
    remove_temporary(tmp);
    throw;
  }
  commit_file(tmp, path);
}

SafetensorsFile read_safetensors(const std::string& path) {
  check_readable_file(path, kMaxSafetensorsBytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open file", path));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) fail(path, "shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  if (n > kMaxHeader || n > bytes.size() - 8) fail(path, "header length past the end (truncated?)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, n));
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("header is not JSON: ") + e.what());
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");
  const uint64_t data_size = bytes.size() - 8 - n;
  const char* data = bytes.data() + 8 + n;

  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path, "__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) fail(path, "__metadata__ values must be strings");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    try {
      const auto dtype = entry.at("dtype").get<std::string>();
      std::vector<int64_t> shape, signed_offsets;
      try {
        shape = json_integers(entry.at("shape"), "shape");
        signed_offsets = json_integers(entry.at("data_offsets"), "data_offsets");
      } catch (const std::invalid_argument& e) {
        fail(path, fmt::format("tensor '{}': {}", name, e.what()));
      }
      std::vector<uint64_t> offsets;
      for (auto o : signed_offsets) {
        if (o < 0) fail(path, fmt::format("tensor '{}' has a negative data offset", name));
        offsets.push_back(static_cast<uint64_t>(o));
      }
      const DtypeInfo* d = nullptr;
      for (const auto& k : kDtypes)
        if (dtype == k.name) d = &k;
      if (!d) fail(path, fmt::format("tensor '{}' has unsupported dtype {}", name, dtype));
      // span: the product with empty dimensions taken as 1, which LibTorch's
      // strides must hold even when the tensor has no values.
      uint64_t numel = 1, span = 1;
      for (auto s : shape) {
        if (s < 0) fail(path, fmt::format("tensor '{}' has a negative dimension", name));
        const auto size = static_cast<uint64_t>(s);
        if (__builtin_mul_overflow(numel, size, &numel) ||
            __builtin_mul_overflow(span, std::max<uint64_t>(size, 1), &span) ||
            span > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          fail(path, fmt::format("tensor '{}' has a shape too large to address", name));
      }
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size)
        fail(path, fmt::format("tensor '{}' lies outside the data (truncated?)", name));
      uint64_t bytes = 0;
      if (__builtin_mul_overflow(numel, d->size, &bytes) || offsets[1] - offsets[0] != bytes)
        fail(path, fmt::format("tensor '{}' has {} bytes for shape of {} values", name,
                               offsets[1] - offsets[0], numel));
      auto t = torch::empty(shape, torch::TensorOptions().dtype(d->type));
      std::memcpy(t.data_ptr(), data + offsets[0], offsets[1] - offsets[0]);
      file.tensors[name] = t;
      ranges.emplace_back(offsets[0], offsets[1]);
    } catch (const nlohmann::json::exception& e) {
      fail(path, fmt::format("tensor '{}': {}", name, e.what()));
    }
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [b, e] : ranges) {
    if (b != covered) fail(path, "tensor data overlaps or leaves gaps");
    covered = e;
  }
  if (covered != data_size) fail(path, "trailing bytes after the last tensor");
  return file;
}

}  // namespace gsnn
