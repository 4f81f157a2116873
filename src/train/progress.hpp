// Progress output for long work: one self-updating line on a terminal,
// occasional plain lines otherwise (logs, CI). Writes to stderr.
#pragma once

#include <chrono>
#include <string>

namespace gsnn {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled);
  // Reports step `done` of `total` with a short status text.
  void update(int64_t done, const std::string& status);
  void finish(const std::string& status);

 private:
  std::string label_;
  int64_t total_;
  bool enabled_, terminal_;
  int64_t next_plain_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace gsnn
