// gsnn demo: the main job. GSNN, ReLU MLP and tanh MLP at equal size and
// equal budget on the built-in tasks, run as an ordinary experiment (result
// files, resumable, reportable); the table is read back from the results.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "experiment/runner.hpp"
#include "train/trainer.hpp"

namespace gsnn::cli {
namespace {

struct DemoArgs {
  std::string out = "results/demo";
  int64_t steps = 10000;
  int64_t depth = 2, width = 32;
  uint64_t seed = 0, data_seed = 1;
  std::vector<std::string> tasks = {"smooth2d", "noisy-sine"};
  std::vector<std::string> models = {"gsnn", "mlp-relu", "mlp-tanh"};
  RuntimeFlags runtime;
};

double metric(const nlohmann::json& record, const char* set, const char* name) {
  const auto& m = record.at("metrics");
  if (!m.contains(set) || !m[set].contains(name) || !m[set][name].is_number()) return NAN;
  return m[set][name].get<double>();
}

void run_demo(const DemoArgs& a) {
  a.runtime.apply();
  nlohmann::json doc = {{"name", "demo"},
                        {"tasks", a.tasks},
                        {"seeds", {a.seed}},
                        {"data_seed", a.data_seed},
                        {"training", {{"steps", a.steps}}},
                        {"model", nlohmann::json::array()}};
  for (const auto& m : a.models)
    doc["model"].push_back({{"family", m}, {"options", {{"depth", a.depth}, {"width", a.width}}}});
  auto e = parse_experiment(doc, "gsnn demo", nullptr);
  e.output = a.out;
  RunOptions options;
  options.progress = !a.runtime.quiet;
  options.device = a.runtime.device;
  run_experiment(e, options);

  std::vector<std::vector<std::string>> rows;
  for (const auto& task : e.tasks)
    for (const auto& model : e.models) {
      std::ifstream in(run_directory(e, task.name, model.label, a.seed) + "/result.json");
      const auto r = nlohmann::json::parse(in);
      rows.push_back({task.name, model.label, format_number(r.value("parameters", NAN)),
                      format_number(metric(r, "train", "mse")),
                      format_number(metric(r, "test", "mse")),
                      format_number(metric(r, "out_of_domain", "mse")),
                      format_number(metric(r, "test", "mean_std")),
                      format_number(metric(r, "out_of_domain", "mean_std")),
                      format_number(metric(r, "test", "coverage95")),
                      fmt::format("{:.1f}", r.at("seconds").get<double>())});
    }
  fmt::print("\n{} steps of Adam per model, depth {} x width {}, seed {}\n", a.steps, a.depth,
             a.width, a.seed);
  print_table({"task", "model", "params", "train mse", "test mse", "ood mse", "mean std", "ood std",
               "95% cover", "seconds"},
              rows);
  fmt::print(
      "\nresults in {} (rerunning skips finished runs); report: gsnn report {} -o {}/report\n",
      a.out, a.out, a.out);
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand(
      "demo",
      "the main job: train GSNN, ReLU MLP and tanh MLP at equal size and budget on the built-in "
      "tasks (smooth2d, noisy-sine) and print a comparison table");
  cmd->add_option("--out", args->out, "results directory (ordinary `gsnn run` results)")
      ->capture_default_str();
  cmd->add_option("--steps", args->steps, "optimiser steps per model")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--depth", args->depth, "hidden layers of every model")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--width", args->width, "hidden units per layer of every model")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "training seed")
      ->capture_default_str()
      ->check(seed_range());
  cmd->add_option("--data-seed", args->data_seed, "seed of the generated data")
      ->check(seed_range())
      ->capture_default_str();
  cmd->add_option("--tasks", args->tasks, "tasks to run")->delimiter(',')->capture_default_str();
  cmd->add_option("--models", args->models, "models to compare")
      ->delimiter(',')
      ->capture_default_str();
  args->runtime.add_to(*cmd);
  cmd->callback([args] { run_demo(*args); });
}

}  // namespace gsnn::cli
