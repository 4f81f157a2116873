// gsnn report: reads every run result under a directory and writes a
// self-contained HTML page with PNG figures (tables of mean +- std over
// seeds, learning curves, 1D fits with +-2 sigma bands, 2D error maps,
// calibration plots, sweep plots).
#pragma once

#include <string>

namespace gsnn {

struct ReportSummary {
  int runs = 0;
  int tasks = 0;
  int figures = 0;
};

ReportSummary write_report(const std::string& results_dir, const std::string& report_dir);

}  // namespace gsnn
