// Experiment files: which tasks, which models (with options and sweeps),
// which seeds, what budget, where the results go. docs/experiments.md
// documents the format; every error names the file, line and key.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "io/config.hpp"
#include "nn/registry.hpp"
#include "tasks/task.hpp"

namespace gsnn {

// Most runs one experiment may hold (seeds, sweep combinations, their product).
constexpr size_t kMaxRuns = 10000;
// Longest name (experiment, task, label) from a file: names become directory names.
constexpr size_t kMaxNameLength = 100;

struct ModelRun {
  std::string label;  // unique within the experiment, e.g. "gsnn[depth=2,tau_schedule=learned]"
  std::string name;   // family or alias as written
  ModelSpec spec;     // resolved (after sizing to target_params)
  nlohmann::json training;  // resolved training options for this model (loss may be "task")
  nlohmann::json sweep = nlohmann::json::object();  // the swept options and their values
};

struct Experiment {
  std::string name;
  std::vector<Task> tasks;
  std::vector<ModelRun> models;
  std::vector<uint64_t> seeds;
  uint64_t data_seed = 1;
  std::optional<int64_t> target_params;
  std::string output;  // results directory
};

// Parses a TOML experiment file (std::invalid_argument / std::runtime_error
// with "file:line: ..." on any problem).
Experiment load_experiment(const std::string& path);

// The same from JSON (what load_experiment uses after reading the TOML).
// `file` and `lines` only serve error messages.
Experiment parse_experiment(const nlohmann::json& doc, const std::string& file,
                            const SourceLines* lines);

// A task or model label as used in file names (unsafe characters -> '_').
std::string file_safe(const std::string& name);

// Width that brings `spec`'s parameter count (a regression model's output
// noise included) closest to `target` for a model of this shape; throws if
// the family has no width option or no width lands within 5%.
ModelSpec size_to_parameters(const ModelSpec& spec, int64_t target, const ModelShape& shape,
                             bool regression, int64_t* count = nullptr);

}  // namespace gsnn
