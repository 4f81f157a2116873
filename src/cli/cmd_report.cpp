// gsnn report: HTML page and PNG figures from a results directory.
#include <fmt/format.h>

#include "cli/common.hpp"
#include "report/report.hpp"

namespace gsnn::cli {

void add_report_command(CLI::App& app) {
  auto results = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "report",
      "write an HTML report with PNG figures (tables over seeds, learning curves, fits with "
      "+-2 std bands, 2D error maps, calibration, sweeps) from the results of `gsnn run`");
  cmd->add_option("results_dir", *results, "directory written by gsnn run")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--out", *out, "report directory (index.html + PNGs)")->required();
  cmd->callback([results, out] {
    const auto s = write_report(*results, *out);
    fmt::print("report of {} runs on {} task(s), {} figures: {}/index.html\n", s.runs, s.tasks,
               s.figures, *out);
  });
}

}  // namespace gsnn::cli
