// Small helpers shared by the tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace gsnn::test {

// The message of the exception `f` throws, or "" if it throws none.
template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Predictions of `predictor` (a gsnn::Predictor) on the n rows at `x`, made
// `reps` times by each of `threads` threads at once, that differ from one
// made alone (0 when prediction is thread-safe and deterministic).
template <class Predictor>
int concurrent_mismatches(const Predictor& predictor, const double* x, size_t n, int threads,
                          int reps) {
  std::vector<double> ref_mean(n), ref_std(n);
  predictor.predict(x, n, ref_mean.data(), ref_std.data());
  std::vector<int> mismatches(threads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::vector<double> mean(n), std(n);
      for (int rep = 0; rep < reps; ++rep) {
        predictor.predict(x, n, mean.data(), std.data());
        mismatches[t] += mean != ref_mean || std != ref_std;
      }
    });
  for (auto& t : pool) t.join();
  int total = 0;
  for (int m : mismatches) total += m;
  return total;
}

// The whole file at `path` ("" if it cannot be read).
inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("gsnn_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name)) << text;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

}  // namespace gsnn::test
