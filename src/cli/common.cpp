// RuntimeFlags and table printing.
#include "cli/common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/runtime.hpp"
#include "eval/metrics.hpp"

namespace gsnn::cli {

void RuntimeFlags::add_to(CLI::App& app, bool with_device) {
  app.add_option("--threads", threads, "intra-op CPU threads (1 is fastest for small models)")
      ->check(CLI::Range(1, kMaxThreads));
  if (with_device) app.add_option("--device", device, "torch device: cpu, cuda, cuda:1, ...");
  app.add_flag("-q,--quiet", quiet, "no progress output");
}

void RuntimeFlags::apply() const {
  check_device(device);
  init_runtime({threads, true});
}

CLI::Validator seed_range() { return CLI::Range(0.0, 18446744073709551615.0); }

std::string format_number(double value) {
  if (std::isnan(value)) return "-";
  if (value != 0 && (std::abs(value) < 1e-3 || std::abs(value) >= 1e5))
    return fmt::format("{:.2e}", value);
  return fmt::format("{:.4g}", value);
}

void print_metrics_table(const nlohmann::json& metrics) {
  std::vector<const MetricInfo*> shown;
  for (const auto& info : metric_infos()) {
    if (info.shown == Shown::Never) continue;
    bool present = false;
    for (const auto& [set, values] : metrics.items())
      present = present || values.contains(info.name);
    if (present) shown.push_back(&info);
  }
  std::vector<std::string> header = {"set"};
  for (const auto* info : shown) header.push_back(info->title);
  std::vector<std::string> sets;  // train and validation first, then the rest by name
  for (const char* first : {"train", "validation"})
    if (metrics.contains(first)) sets.push_back(first);
  for (const auto& [set, values] : metrics.items())
    if (set != "train" && set != "validation") sets.push_back(set);
  std::vector<std::vector<std::string>> rows;
  for (const auto& set : sets) {
    const auto& values = metrics.at(set);
    std::vector<std::string> row = {set};
    for (const auto* info : shown) {
      const auto it = values.find(info->name);
      row.push_back(it != values.end() && it->is_number() ? format_number(it->get<double>()) : "-");
    }
    rows.push_back(row);
  }
  print_table(header, rows);
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c)
      out += fmt::format(c == 0 ? "{:<{}}" : "  {:>{}}", cells[c], width[c]);
    fmt::print("{}\n", out);
  };
  line(header);
  std::string rule;
  for (size_t c = 0; c < width.size(); ++c) rule += std::string(width[c] + (c ? 2 : 0), '-');
  fmt::print("{}\n", rule);
  for (const auto& r : rows) line(r);
}

}  // namespace gsnn::cli
