// The IDX reader (plain and gzip) against good and broken files, and the
// fashion-mnist task on Debian's dataset-fashion-mnist (installed by
// scripts/setup.sh).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <fstream>
#include <iterator>

#include "data/idx.hpp"
#include "tasks/task.hpp"
#include "test_util.hpp"

namespace gsnn {
namespace {

std::string idx_bytes(std::vector<uint32_t> dims, size_t data_bytes, uint8_t type = 0x08) {
  std::string b = {0, 0, char(type), char(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(char((d >> s) & 0xff));
  for (size_t i = 0; i < data_bytes; ++i) b.push_back(char(i % 251));
  return b;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

TEST(Idx, ReadsPlainAndGzipFiles) {
  test::TempDir dir;
  const auto bytes = idx_bytes({3, 2, 5}, 30);
  write_gzip(dir.file("a.gz"), bytes);
  for (const auto& path : {dir.write("a", bytes), dir.file("a.gz")}) {
    const auto t = read_idx(path);
    EXPECT_EQ(t.sizes(), (std::vector<int64_t>{3, 2, 5}));
    EXPECT_EQ(t.scalar_type(), torch::kUInt8);
    EXPECT_EQ(t[2][1][4].item<int>(), 29);
  }
}

TEST(Idx, RejectsBrokenFilesWithAClearError) {
  test::TempDir dir;
  auto error = [&](const std::string& name, const std::string& bytes) {
    return test::error_message([&] { read_idx(dir.write(name, bytes)); });
  };
  EXPECT_NE(error("magic", "\x12\x34\x08\x01" + std::string(8, '\0')).find("wrong magic"),
            std::string::npos);
  EXPECT_NE(error("short", idx_bytes({10, 4}, 39)).find("truncated: the header announces 40"),
            std::string::npos);
  EXPECT_NE(error("long", idx_bytes({10}, 11)).find("more data than the header"),
            std::string::npos);
  EXPECT_NE(error("type", idx_bytes({2}, 8, 0x0d)).find("type 0x0d is not supported"),
            std::string::npos);
  EXPECT_NE(error("huge", idx_bytes({65536, 65536}, 0)).find("more than"), std::string::npos);
  // Found by fuzz/idx_fuzzer: a zero dimension beside huge ones overflowed the strides.
  EXPECT_NE(error("empty", idx_bytes({0, 0xeb0004, 0x01020301, 0x01030009}, 0))
                .find("dimension 1 has size 0"),
            std::string::npos);
  // Just under the limit, announced by a 20-byte file: read as it comes, refused as truncated.
  EXPECT_NE(error("claims", idx_bytes({32768, 65535}, 10)).find("the file has 10"),
            std::string::npos);
  EXPECT_NE(error("header", idx_bytes({5, 5}, 0).substr(0, 9)).find("truncated header"),
            std::string::npos);
  // A complete gzip stream of too little data: the same error as a short plain file.
  write_gzip(dir.file("short.gz"), idx_bytes({10, 4}, 20));
  EXPECT_NE(test::error_message([&] { read_idx(dir.file("short.gz")); }).find("truncated"),
            std::string::npos);
  EXPECT_NE(test::error_message([&] { read_idx(dir.file("missing")); }).find("cannot open"),
            std::string::npos);
  // A gzip file without its trailer (CRC and length) holds all the data but
  // is cut: zlib says so only when asked.
  write_gzip(dir.file("whole.gz"), idx_bytes({10, 4}, 40));
  std::ifstream whole(dir.file("whole.gz"), std::ios::binary);
  const std::string gz((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  const auto cut = dir.write("cut.gz", gz.substr(0, gz.size() - 8));
  EXPECT_EQ(read_idx(dir.file("whole.gz")).numel(), 40);
  EXPECT_NE(test::error_message([&] { read_idx(cut); }).find("the gzip stream ends early"),
            std::string::npos);
  // The shape is checked before any data is read: a 2 GiB claim is refused
  // by the caller's check, not met as a truncated file.
  const auto message = test::error_message([&] {
    read_idx(dir.write("claim", idx_bytes({32768, 65535}, 10)), [](const std::vector<int64_t>& s) {
      if (s != std::vector<int64_t>{10, 4}) throw std::runtime_error("wrong shape");
    });
  });
  EXPECT_EQ(message, "wrong shape");
}

TEST(FashionMnist, ImagesLabelsAndSplits) {
  const auto task =
      configure_task("fashion-mnist", {{"train", 200}, {"validation", 20}, {"test", 50}});
  const auto d = task.generate(3);
  EXPECT_EQ(task.kind, "classification");
  EXPECT_EQ(d.train.x.sizes(), (std::vector<int64_t>{200, 1, 28, 28}));
  EXPECT_EQ(d.validation.size(), 20);
  EXPECT_EQ(d.find("test")->size(), 50);
  EXPECT_GE(d.train.x.min().item<double>(), 0);
  EXPECT_LE(d.train.x.max().item<double>(), 1);
  EXPECT_GT(d.train.x.max().item<double>(), 0.9);
  EXPECT_EQ(d.train.classes.size(), 10u);
  EXPECT_GE(d.train.y.min().item<double>(), 0);
  EXPECT_LE(d.train.y.max().item<double>(), 9);
  // The same data seed gives the same images; train and validation do not overlap.
  EXPECT_TRUE(torch::equal(task.generate(3).train.x, d.train.x));
  const auto flat_train = d.train.x.flatten(1), flat_val = d.validation.x.flatten(1);
  EXPECT_GT(torch::cdist(flat_val, flat_train).min().item<double>(), 0);
  EXPECT_THROW(configure_task("fashion-mnist", {{"train", 60000}, {"validation", 1}}),
               std::invalid_argument);
}

}  // namespace
}  // namespace gsnn
