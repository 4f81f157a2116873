// Pieces shared by the gsnn subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace gsnn::cli {

// Options every training/inference command takes.
struct RuntimeFlags {
  int threads = 1;
  std::string device = "cpu";
  bool quiet = false;
  void add_to(CLI::App& app, bool with_device = true);
  void apply() const;  // init_runtime with these settings
};

// Seeds are unsigned 64-bit: refuses "-1" and values past 2^64 - 1 before
// CLI11 could wrap or clamp them.
CLI::Validator seed_range();

// Prints a fixed-width table to stdout.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

std::string format_number(double value);  // 3 significant digits, or "-" for NaN

// One row per set of {"set": {"metric": value, ...}, ...}, one column per
// registered metric present (eval/metrics.hpp), in registry order.
void print_metrics_table(const nlohmann::json& metrics);

void add_fit_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_catalog_commands(CLI::App& app);  // `gsnn tasks`, `gsnn models`
void add_run_command(CLI::App& app);
void add_report_command(CLI::App& app);

}  // namespace gsnn::cli
