// plot_lines / plot_colour_map / plot_image_grid: data files + a gnuplot script per figure.
#include "report/gnuplot.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <stdexcept>
#include "io/files.hpp"

namespace gsnn {
namespace {

// A gnuplot single-quoted string: the only form in which gnuplot neither
// expands backquotes (command substitution) nor interprets escapes; a
// quote inside is doubled. Newlines would end the command, so they become spaces.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "'";
}

std::string base_of(const std::string& png) {
  return png.size() > 4 && png.substr(png.size() - 4) == ".png" ? png.substr(0, png.size() - 4)
                                                                : png;
}

const char* kHeader =
    "set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'\n"
    "set grid lc rgb '#dddddd'\nset key outside right top\n";

}  // namespace

void run_gnuplot(const std::string& script_path, const std::string& output) {
  // gnuplot is started directly (no shell): no character of a path or a
  // label can become a command. Its output goes to a fresh log file read on failure.
  const auto log = temporary_beside(script_path + ".log");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_TRUNC | O_NOFOLLOW, 0);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string program = "gnuplot", flag = "-e", set_output = "set output " + quote(output);
  std::string script = script_path;
  char* argv[] = {program.data(), flag.data(), set_output.data(), script.data(), nullptr};
  // Spawned and recorded with the cleanup signals blocked, so that the handler
  // never misses a gnuplot it should stop; the child starts with none blocked
  // and SIGXFSZ at its default.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGXFSZ);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int spawned = 0;
  {
    const CleanupSignalsBlocked blocked;
    spawned = posix_spawnp(&pid, "gnuplot", &actions, &attributes, argv, environ);
    if (spawned == 0) set_writing_child(pid);
  }
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    remove_temporary(log);
    throw std::runtime_error(
        fmt::format("cannot start gnuplot ({}): install gnuplot-nox", std::strerror(spawned)));
  }
  // Waited for without reaping, so that its pid cannot be reused while the
  // handler may still stop it.
  siginfo_t info{};
  while (waitid(P_PID, pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  set_writing_child(0);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string msg;
    try {
      msg = read_text_file(log, 1 << 20);
    } catch (const std::exception& e) {
      msg = e.what();  // an unreadable or huge log: say so, and remove it all the same
    }
    remove_temporary(log);
    throw std::runtime_error(fmt::format("gnuplot failed on {}: {}", script_path, msg));
  }
  remove_temporary(log);
}

namespace {

// Writes `script` beside `png` (as NAME.gp, kept so a figure can be restyled
// by hand) and draws it into a fresh temporary file renamed to `png`: no
// file of the figure is ever opened through a planted symlink.
void draw(const std::string& png, const std::string& script) {
  const auto script_path = base_of(png) + ".gp";
  write_file_atomically(script_path, script);
  const auto tmp = temporary_beside(png);
  try {
    run_gnuplot(script_path, tmp);
    commit_file(tmp, png);
  } catch (...) {
    remove_temporary(tmp);
    throw;
  }
}

}  // namespace

void plot_lines(const PlotSpec& spec) {
  const auto base = base_of(spec.path);
  std::string script = kHeader;
  script +=
      fmt::format("set title {} noenhanced\nset xlabel {} noenhanced\nset ylabel {} noenhanced\n",
                  quote(spec.title), quote(spec.xlabel), quote(spec.ylabel));
  if (spec.log_y) script += "set logscale y\nset format y '%.0e'\n";
  if (!spec.xtics.empty()) {
    std::string tics;
    for (size_t i = 0; i < spec.xtics.size(); ++i)
      tics += fmt::format("{}{} {}", i ? ", " : "", quote(spec.xtics[i]), i);
    script += fmt::format("set xtics ({})\nset xrange [-0.5:{}]\n", tics, spec.xtics.size() - 0.5);
  }
  std::string plots;
  int palette_index = 0;
  for (size_t s = 0; s < spec.series.size(); ++s) {
    const auto& series = spec.series[s];
    const auto data = fmt::format("{}.{}.dat", base, s);
    std::string rows;
    const bool band = !series.lower.empty();
    for (size_t i = 0; i < series.x.size(); ++i) {
      rows += fmt::format("{:.10g} {:.10g}", series.x[i], series.y[i]);
      if (band) rows += fmt::format(" {:.10g} {:.10g}", series.lower[i], series.upper[i]);
      rows += '\n';
    }
    write_file_atomically(data, rows);
    // Series with their own colour ("lc ...") leave the palette to the others,
    // so a model keeps its colour across figures.
    // gnuplot cycles 8 colours: the next 8 series are dashed, and so on.
    const bool own_colour = series.style.find("lc ") != std::string::npos;
    if (!own_colour) ++palette_index;
    const std::string colour =
        own_colour ? "" : fmt::format(" lt {} dt {}", palette_index, 1 + (palette_index - 1) / 8);
    if (band)
      plots += fmt::format(
          "{} using 1:3:4 with filledcurves fc lt {} fs transparent solid 0.2 "
          "notitle, ",
          quote(data), palette_index);
    plots += fmt::format("{} using 1:2 with {}{} lw 2 title {} noenhanced, ", quote(data),
                         series.style, colour, quote(series.title));
  }
  if (plots.empty()) throw std::invalid_argument("plot_lines: nothing to plot");
  script += "plot " + plots.substr(0, plots.size() - 2) + "\n";
  draw(spec.path, script);
}

void plot_colour_map(const std::string& path, const std::string& title,
                     const std::vector<double>& x, const std::vector<double>& y,
                     const std::vector<double>& c, const std::string& colour_label) {
  const auto base = base_of(path);
  const auto data = base + ".dat";
  std::string rows;
  for (size_t i = 0; i < x.size(); ++i)
    rows += fmt::format("{:.10g} {:.10g} {:.10g}\n", x[i], y[i], c[i]);
  write_file_atomically(data, rows);
  std::string script = kHeader;
  script += fmt::format(
      "set terminal pngcairo size 700,600 enhanced font 'DejaVu Sans,11'\n"
      "set title {} noenhanced\nset xlabel 'x1'\nset ylabel 'x2'\n"
      "set size ratio -1\nset palette defined (0 '#000004', 1 '#51127c', 2 '#b73779', "
      "3 '#fc8961', 4 '#fcfdbf')\nset cblabel {}\n"
      "plot {} using 1:2:3 with points pt 5 ps 1.1 palette notitle\n",
      quote(title), quote(colour_label), quote(data));
  draw(path, script);
}

void plot_image_grid(const std::string& path, const std::string& title,
                     const std::vector<ImageRow>& rows, int height, int width) {
  constexpr int kGap = 2;  // white pixels between images
  size_t per_row = 0;
  for (const auto& row : rows) {
    per_row = std::max(per_row, row.images.size());
    for (const auto& image : row.images)
      if (image.size() != static_cast<size_t>(height) * width)
        throw std::invalid_argument("plot_image_grid: an image of row '" + row.label +
                                    "' does not have height x width values");
  }
  if (per_row == 0) throw std::invalid_argument("plot_image_grid: nothing to draw");
  const size_t columns = per_row * (width + kGap), lines = rows.size() * (height + kGap);
  std::vector<double> grid(columns * lines, 1.0);
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t k = 0; k < rows[r].images.size(); ++k)
      for (int i = 0; i < height; ++i)
        for (int j = 0; j < width; ++j)
          grid[(r * (height + kGap) + i) * columns + k * (width + kGap) + j] =
              std::clamp(rows[r].images[k][i * width + j], 0.0, 1.0);
  std::string matrix;
  for (size_t i = 0; i < lines; ++i) {
    for (size_t j = 0; j < columns; ++j)
      matrix += fmt::format("{}{:.4g}", j ? " " : "", grid[i * columns + j]);
    matrix += '\n';
  }
  const auto data = base_of(path) + ".dat";
  write_file_atomically(data, matrix);
  std::string tics;
  for (size_t r = 0; r < rows.size(); ++r)
    tics += fmt::format("{}{} {}", r ? ", " : "", quote(rows[r].label),
                        r * (height + kGap) + height / 2.0);
  const int scale = 4;  // screen pixels per image pixel
  draw(path,
       fmt::format("set terminal pngcairo size {},{} font 'DejaVu Sans,11'\n"
                   "set title {} noenhanced\nset size ratio -1\nset palette gray\n"
                   "set cbrange [0:1]\nunset colorbox\nunset xtics\nset ytics ({}) noenhanced\n"
                   "set xrange [-0.5:{}]\nset yrange [{}:-0.5]\n"
                   "plot {} matrix with image notitle\n",
                   columns * scale + 260, lines * scale + 90, quote(title), tics, columns - 0.5,
                   lines - 0.5, quote(data)));
}

}  // namespace gsnn
