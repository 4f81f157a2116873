#include "data/idx.hpp"

#include <fmt/format.h>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

namespace gsnn {
namespace {

// Reads exactly `n` bytes (fewer only at the end of the data); gzip or plain,
// as zlib's gzread does transparently.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    if (!file_) throw std::runtime_error(fmt::format("{}: cannot open", path));
  }
  ~Reader() { gzclose(file_); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  uint64_t read(uint8_t* out, uint64_t n) {
    uint64_t done = 0;
    while (done < n) {
      const auto chunk = static_cast<unsigned>(std::min<uint64_t>(n - done, 1u << 30));
      const int got = gzread(file_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        throw std::runtime_error(fmt::format("{}: read error ({})", path_, gzerror(file_, &code)));
      }
      if (got == 0) {
        // zlib reports a stream cut before its end (or its checksum) only here.
        int code = 0;
        gzerror(file_, &code);
        if (code == Z_BUF_ERROR)
          throw std::runtime_error(
              fmt::format("{}: truncated (the gzip stream ends early)", path_));
        break;
      }
      done += static_cast<uint64_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile file_;
};

}  // namespace

torch::Tensor read_idx(const std::string& path,
                       const std::function<void(const std::vector<int64_t>&)>& check_shape) {
  Reader in(path);
  uint8_t magic[4];
  if (in.read(magic, 4) != 4 || magic[0] != 0 || magic[1] != 0)
    throw std::runtime_error(fmt::format("{}: not an IDX file (wrong magic number)", path));
  if (magic[2] != 0x08)
    throw std::runtime_error(fmt::format(
        "{}: IDX type 0x{:02x} is not supported (only 0x08, unsigned bytes)", path, magic[2]));
  const int dims = magic[3];
  if (dims < 1 || dims > 4)
    throw std::runtime_error(fmt::format("{}: {} dimensions (1 to 4 supported)", path, dims));
  std::vector<int64_t> shape;
  uint64_t total = 1;
  for (int i = 0; i < dims; ++i) {
    uint8_t b[4];
    if (in.read(b, 4) != 4) throw std::runtime_error(fmt::format("{}: truncated header", path));
    const uint64_t d =
        (uint64_t{b[0]} << 24) | (uint64_t{b[1]} << 16) | (uint64_t{b[2]} << 8) | b[3];
    // An empty dimension would let the others grow unchecked (their product
    // overflows LibTorch's strides): an IDX file without data is refused.
    if (d == 0) throw std::runtime_error(fmt::format("{}: dimension {} has size 0", path, i + 1));
    total *= d;  // d < 2^32 and total stays <= kMaxIdxBytes < 2^31 below: no overflow
    if (total > kMaxIdxBytes)
      throw std::runtime_error(
          fmt::format("{}: the header announces more than {} bytes of data", path, kMaxIdxBytes));
    shape.push_back(static_cast<int64_t>(d));
  }
  if (check_shape) check_shape(shape);
  // Grown as the data arrive, so a short file whose header announces 2 GiB
  // costs what it holds, not what it claims; the tensor then owns it.
  auto owner = std::make_unique<std::vector<uint8_t>>();
  auto& data = *owner;
  uint64_t got = 0;
  while (got < total) {
    const uint64_t want = std::min<uint64_t>(total - got, uint64_t{1} << 24);
    data.resize(got + want);
    const uint64_t read = in.read(data.data() + got, want);
    got += read;
    if (read < want) break;
  }
  if (got != total)
    throw std::runtime_error(fmt::format(
        "{}: truncated: the header announces {} bytes of data, the file has {}", path, total, got));
  uint8_t extra;
  if (in.read(&extra, 1) != 0)
    throw std::runtime_error(
        fmt::format("{}: more data than the header announces ({} bytes)", path, total));
  auto* bytes = data.data();
  return torch::from_blob(
      bytes, shape, [held = owner.release()](void*) { delete held; }, torch::kUInt8);
}

}  // namespace gsnn
