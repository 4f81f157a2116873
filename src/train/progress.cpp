// Progress: carriage-return redraws at most 10 times a second on a TTY;
// otherwise one line per tenth of the work.
#include "train/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace gsnn {

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      enabled_(enabled),
      terminal_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t done, const std::string& status) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * (total_ - done) / done : 0.0;
  const auto line = fmt::format("{} {:>6}/{} {}  [{:.1f}s, ETA {:.0f}s]", label_, done, total_,
                                status, elapsed, eta);
  if (terminal_) {
    if (std::chrono::duration<double>(now - last_draw_).count() < 0.1 && done < total_) return;
    last_draw_ = now;
    fmt::print(stderr, "\r\033[K{}", line);
  } else if (done >= next_plain_) {
    next_plain_ = done + total_ / 10;
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

void Progress::finish(const std::string& status) {
  if (!enabled_) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  fmt::print(stderr, "{}{} done {}  [{:.1f}s]\n", terminal_ ? "\r\033[K" : "", label_, status,
             elapsed);
}

}  // namespace gsnn
