// Plots through gnuplot's pngcairo terminal: each plot writes its data files
// next to the PNG and runs one gnuplot script (kept, so a figure can be
// restyled by hand: `gnuplot -e "set output 'x.png'" x.gp`). Every file is
// written through a fresh temporary name and renamed into place.
#pragma once

#include <string>
#include <vector>

namespace gsnn {

struct Series {
  std::string title;
  std::vector<double> x, y;
  std::vector<double> lower, upper;  // optional band (same length as x)
  std::string style = "lines";       // gnuplot "with" clause: lines, points, linespoints
};

struct PlotSpec {
  std::string path;  // .png
  std::string title, xlabel, ylabel;
  bool log_y = false;
  std::vector<Series> series;
  std::vector<std::string> xtics;  // categorical x axis labels (x = 0, 1, ...)
};

// Draws a line plot; throws std::runtime_error if gnuplot fails.
void plot_lines(const PlotSpec& spec);

// Draws points (x, y) coloured by value c (e.g. log10 error) on a colour map.
void plot_colour_map(const std::string& path, const std::string& title,
                     const std::vector<double>& x, const std::vector<double>& y,
                     const std::vector<double>& c, const std::string& colour_label);

// One labelled row of grey images (values shown on [0, 1], clamped).
struct ImageRow {
  std::string label;
  std::vector<std::vector<double>> images;  // each height x width values, row-major
};

// Draws rows of images one under the other, e.g. originals above
// reconstructions; throws std::invalid_argument for an image of another size.
void plot_image_grid(const std::string& path, const std::string& title,
                     const std::vector<ImageRow>& rows, int height, int width);

// Runs `gnuplot -e "set output OUTPUT" script_path` (no shell); throws with
// gnuplot's message on failure.
void run_gnuplot(const std::string& script_path, const std::string& output);

}  // namespace gsnn
