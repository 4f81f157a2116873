// gsnn demo: the main job. GSNN, ReLU MLP and tanh MLP at equal size and
// equal budget on the built-in tasks, with a comparison table and JSON.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "eval/metrics.hpp"
#include "gsnn/version.hpp"
#include "io/files.hpp"
#include "tasks/task.hpp"
#include "train/fit.hpp"

namespace gsnn::cli {
namespace {

struct DemoArgs {
  std::string out = "gsnn-demo.json";
  int64_t steps = 10000;
  int64_t depth = 2, width = 32;
  uint64_t seed = 0, data_seed = 1;
  std::vector<std::string> tasks = {"smooth2d", "noisy-sine"};
  std::vector<std::string> models = {"gsnn", "mlp-relu", "mlp-tanh"};
  RuntimeFlags runtime;
};

void run_demo(const DemoArgs& a) {
  a.runtime.apply();
  nlohmann::json report = {{"gsnn_version", GSNN_VERSION},
                           {"steps", a.steps},
                           {"depth", a.depth},
                           {"width", a.width},
                           {"seed", a.seed},
                           {"data_seed", a.data_seed},
                           {"results", nlohmann::json::array()}};
  std::vector<std::vector<std::string>> rows;
  for (const auto& task_name : a.tasks) {
    const auto& task = find_task(task_name);
    const auto data = task.generate(a.data_seed);
    for (const auto& model_name : a.models) {
      FitRequest request;
      request.model = resolve_model(model_name, {{"depth", a.depth}, {"width", a.width}});
      request.training.steps = a.steps;
      request.training.seed = a.seed;
      request.training.loss = task.loss;
      request.training.progress = !a.runtime.quiet;
      request.device = a.runtime.device;
      auto outcome = fit_model(data.train, data.validation, request,
                               fmt::format("{} {}", task_name, model_name));
      const auto& m = outcome.model;
      const auto train = evaluate_prediction(m.predict(data.train.x), data.train.y);
      const auto& test_set = data.evaluation.front().data;
      const auto test = evaluate_prediction(m.predict(test_set.x), test_set.y);
      nlohmann::json entry = {{"task", task_name},
                              {"model", model_name},
                              {"family", m.spec.family},
                              {"options", m.spec.options},
                              {"parameters", count_parameters(*m.regressor)},
                              {"loss", task.loss},
                              {"steps_run", outcome.result.steps_run},
                              {"stop_reason", outcome.result.stop_reason},
                              {"seconds", outcome.result.seconds},
                              {"train", train.to_json()},
                              {"test", test.to_json()}};
      double ood_mse = NAN, ood_std = NAN;
      if (const auto* ood_set = data.find("out_of_domain")) {
        const auto ood = evaluate_prediction(m.predict(ood_set->x), ood_set->y);
        entry["out_of_domain"] = ood.to_json();
        ood_mse = ood.mse;
        ood_std = ood.mean_std;
      }
      report["results"].push_back(entry);
      rows.push_back({task_name, model_name, std::to_string(count_parameters(*m.regressor)),
                      format_number(train.mse), format_number(test.mse), format_number(ood_mse),
                      format_number(test.mean_std), format_number(ood_std),
                      format_number(test.coverage95),
                      fmt::format("{:.1f}", outcome.result.seconds)});
    }
  }
  fmt::print("\n{} steps of Adam per model, depth {} x width {}, seed {}\n", a.steps, a.depth,
             a.width, a.seed);
  print_table({"task", "model", "params", "train mse", "test mse", "ood mse", "mean std", "ood std",
               "95% cover", "seconds"},
              rows);
  write_file_atomically(a.out, report.dump(2) + "\n");
  fmt::print("\nresults written to {}\n", a.out);
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand(
      "demo",
      "the main job: train GSNN, ReLU MLP and tanh MLP at equal size and budget on the built-in "
      "tasks (smooth2d, noisy-sine) and print a comparison table");
  cmd->add_option("--out", args->out, "JSON file for the full results")->capture_default_str();
  cmd->add_option("--steps", args->steps, "optimiser steps per model")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--depth", args->depth, "hidden layers of every model")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--width", args->width, "hidden units per layer of every model")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "training seed")->capture_default_str();
  cmd->add_option("--data-seed", args->data_seed, "seed of the generated data")
      ->capture_default_str();
  cmd->add_option("--tasks", args->tasks, "tasks to run")->delimiter(',')->capture_default_str();
  cmd->add_option("--models", args->models, "models to compare")
      ->delimiter(',')
      ->capture_default_str();
  args->runtime.add_to(*cmd);
  cmd->callback([args] { run_demo(*args); });
}

}  // namespace gsnn::cli
