// gsnn run: an experiment file, or the short form TASK --models a,b --seeds N.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/common.hpp"
#include "experiment/runner.hpp"

namespace gsnn::cli {
namespace {

struct RunArgs {
  std::string target;  // experiment.toml or a task name
  std::vector<std::string> models = {"gsnn", "mlp-relu", "mlp-tanh"};
  std::vector<std::string> task_options;  // key=value
  int64_t seeds = 3;
  std::optional<int64_t> steps, target_params;
  std::optional<std::string> out;
  uint64_t data_seed = 1;
  int64_t checkpoint_every = 500;
  RuntimeFlags runtime;
  std::vector<std::string> short_form_given;  // short-form flags on the command line
};

void run_run(const RunArgs& a) {
  a.runtime.apply();
  Experiment e;
  const bool is_file = std::filesystem::exists(a.target);  // load_experiment checks it is a file
  if (is_file) {
    // An experiment file says everything: a short-form flag would be ignored.
    if (!a.short_form_given.empty())
      throw std::invalid_argument(fmt::format(
          "{} apply to the short form (a task name); with an experiment file, set them in the "
          "file",
          fmt::join(a.short_form_given, ", ")));
    e = load_experiment(a.target);
  } else {
    if (a.target.size() > 5 && a.target.substr(a.target.size() - 5) == ".toml")
      throw std::invalid_argument(a.target + ": no such experiment file");
    nlohmann::json task = {{"name", a.target}, {"options", nlohmann::json::object()}};
    for (const auto& text : a.task_options) {
      const auto [key, value] = parse_assignment(text);
      task["options"][key] = value;
    }
    nlohmann::json doc = {{"name", a.target},
                          {"tasks", {task}},
                          {"seeds", a.seeds},
                          {"data_seed", a.data_seed},
                          {"model", nlohmann::json::array()}};
    for (const auto& m : a.models) doc["model"].push_back({{"family", m}});
    if (a.steps) doc["training"] = {{"steps", *a.steps}};
    if (a.target_params) doc["target_params"] = *a.target_params;
    e = parse_experiment(doc, "command line", nullptr);
  }
  if (a.out) e.output = *a.out;
  RunOptions options;
  options.progress = !a.runtime.quiet;
  options.device = a.runtime.device;
  options.checkpoint_every = a.checkpoint_every;
  const auto s = run_experiment(e, options);
  fmt::print("{}: {} runs trained ({} resumed from a checkpoint), {} already done; results in {}\n",
             e.name, s.ran, s.resumed, s.skipped, e.output);
  fmt::print("report: gsnn report {} -o {}/report\n", e.output, e.output);
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand(
      "run",
      "run an experiment: every task x model x seed, one result JSON and model per run.\n"
      "Rerunning skips finished runs and resumes interrupted ones from their checkpoint.\n"
      "  gsnn run experiment.toml            (format: docs/experiments.md)\n"
      "  gsnn run smooth2d --models gsnn,mlp-relu --seeds 3 --steps 2000\n"
      "  gsnn run function2d -o level=4 --models gmnm,kan,mlp-tanh --target-params 1500");
  cmd->add_option("experiment_or_task", args->target, "experiment TOML file, or a built-in task")
      ->required();
  cmd->add_option("-o,--task-option", args->task_options,
                  "short form: task option key=value, repeatable (gsnn tasks lists them), e.g. "
                  "-o level=4");
  cmd->add_option("--models", args->models, "short form: models to compare")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--seeds", args->seeds, "short form: number of seeds (0, 1, ...)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--steps", args->steps, "short form: optimiser steps (default 2000)");
  cmd->add_option("--target-params", args->target_params,
                  "short form: size every model's width to this parameter count (within 5%)");
  cmd->add_option("--data-seed", args->data_seed, "short form: seed of the task's data")
      ->check(seed_range())
      ->capture_default_str();
  cmd->add_option("--out", args->out, "results directory (default results/NAME)");
  cmd->add_option("--checkpoint-every", args->checkpoint_every,
                  "steps between checkpoints of a running model")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000000000}));
  args->runtime.add_to(*cmd);
  cmd->callback([args, cmd] {
    for (const char* flag :
         {"--task-option", "--models", "--seeds", "--steps", "--target-params", "--data-seed"})
      if (cmd->count(flag) > 0) args->short_form_given.push_back(flag);
    run_run(*args);
  });
}

}  // namespace gsnn::cli
