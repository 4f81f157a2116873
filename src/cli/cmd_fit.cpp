// gsnn fit: train a model on a CSV file and save it.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "cli/common.hpp"
#include "data/csv.hpp"
#include "io/config.hpp"
#include "io/model_file.hpp"
#include "tasks/kind.hpp"
#include "train/fit.hpp"

namespace gsnn::cli {
namespace {

struct FitArgs {
  std::string data, inputs, targets, model, out, config, dtype = "float32", kind = "regression";
  std::vector<std::string> model_options;
  std::optional<int64_t> steps, batch_size;
  std::optional<uint64_t> seed;
  std::optional<double> lr, validation, test;
  std::optional<std::string> loss, optimizer;
  RuntimeFlags runtime;
};

const std::vector<OptionSpec>& data_specs() {
  static const std::vector<OptionSpec> s = {
      {"validation", 0.2, "fraction of rows held out for validation / early stopping", {}, 0},
      {"test", 0.0, "fraction of rows held out for a final test", {}, 0},
      {"split_seed", 0, "seed of the row shuffle before splitting", {}, 0},
  };
  return s;
}

void run_fit(const FitArgs& a) {
  a.runtime.apply();
  nlohmann::json config = nlohmann::json::object();
  if (!a.config.empty()) config = read_toml(a.config);
  for (const auto& [key, value] : config.items())
    if (key != "model" && key != "training" && key != "data")
      throw std::invalid_argument(
          fmt::format("{}: unknown section [{}] (known: model, training, data)", a.config, key));

  nlohmann::json model_options = config.value("model", nlohmann::json::object());
  std::string model_name = a.model;
  if (model_options.contains("family") && !model_options["family"].is_string())
    throw std::invalid_argument(a.config + ": [model] family must be a string");
  if (model_name.empty()) model_name = model_options.value("family", "gsnn");
  model_options.erase("family");
  for (const auto& text : a.model_options) {
    const auto [k, v] = parse_assignment(text);
    model_options[k] = v;
  }

  nlohmann::json training = config.value("training", nlohmann::json::object());
  if (a.steps) training["steps"] = *a.steps;
  if (a.seed) training["seed"] = *a.seed;
  if (a.lr) training["lr"] = *a.lr;
  if (a.loss) training["loss"] = *a.loss;
  if (a.optimizer) training["optimizer"] = *a.optimizer;
  if (a.batch_size) training["batch_size"] = *a.batch_size;

  nlohmann::json data_options = config.value("data", nlohmann::json::object());
  if (a.validation) data_options["validation"] = *a.validation;
  if (a.test) data_options["test"] = *a.test;
  data_options = resolve_options("data", data_specs(), data_options);

  FitRequest request;
  request.model = resolve_model(model_name, model_options);
  if (!training.contains("loss")) training["loss"] = find_task_kind(a.kind).default_objective;
  request.training = TrainOptions::from_json(training);
  request.training.progress = !a.runtime.quiet;
  request.dtype = a.dtype;
  request.device = a.runtime.device;

  request.kind = a.kind;

  const auto table = read_csv(a.data);
  auto dataset = select_columns(table, a.data, split_names(a.inputs), split_names(a.targets));
  if (a.kind == "classification") label_classes(dataset, a.data);
  const auto split = split_dataset(dataset, data_options["validation"], data_options["test"],
                                   data_options["split_seed"].get<uint64_t>());
  auto outcome = fit_model(split.train, split.validation, request, "fit " + model_name);
  auto& model = outcome.model;
  // A run that diverged is not saved: it would replace a good model at --out.
  if (outcome.result.diverged)
    throw std::runtime_error(outcome.result.stop_reason + "; nothing saved to " + a.out);
  model.training["data"] = {{"file", a.data}, {"split", data_options}};
  save_model(model, a.out);

  TaskData data;
  data.train = split.train;
  data.evaluation = {{"validation", split.validation}, {"test", split.test}};
  fmt::print("model {} ({} parameters), {} steps ({}), {:.1f} s\n", model_name,
             count_parameters(*model.network), outcome.result.steps_run, outcome.result.stop_reason,
             outcome.result.seconds);
  print_metrics_table(evaluate_model(model, data));
  fmt::print("saved to {}\n", a.out);
}

}  // namespace

void add_fit_command(CLI::App& app) {
  auto args = std::make_shared<FitArgs>();
  auto* cmd = app.add_subcommand("fit", "train a model on a CSV file and save it to a directory");
  cmd->add_option("--data", args->data, "training CSV (header row, numeric cells)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--inputs", args->inputs, "input columns, comma-separated (e.g. x1,x2)")
      ->required();
  cmd->add_option("--target,--targets", args->targets, "target column(s), comma-separated")
      ->required();
  cmd->add_option("--out", args->out, "directory to write model.json and weights.safetensors")
      ->required();
  cmd->add_option("--model", args->model,
                  "model family or alias: gsnn, mlp, mlp-relu, mlp-tanh, lengthscale-tanh, gmnm, "
                  "kan, rbf, gp, ... (default gsnn; `gsnn models` lists all)");
  cmd->add_option("-o,--option", args->model_options,
                  "model option key=value, repeatable (e.g. -o depth=3 -o tau=0.2)");
  cmd->add_option("--config", args->config,
                  "TOML file with [model], [training] and [data] tables; flags override it")
      ->check(CLI::ExistingFile);
  cmd->add_option("--steps", args->steps, "optimiser steps (default 2000)");
  cmd->add_option("--seed", args->seed, "random seed for initialisation and batches (default 0)")
      ->check(seed_range());
  cmd->add_option("--lr", args->lr, "initial learning rate (default 0.01)");
  cmd->add_option("--loss", args->loss,
                  "mse (mean only), nll (Gaussian likelihood), huber, pseudo_huber, moe or "
                  "multihead (hybrid experts); `gsnn tasks` lists all");
  cmd->add_option("--optimizer", args->optimizer, "adam, adamw or lbfgs");
  cmd->add_option("--batch-size", args->batch_size, "mini-batch size, 0 = full batch");
  cmd->add_option("--validation", args->validation, "validation fraction (default 0.2)");
  cmd->add_option("--test", args->test, "test fraction (default 0)");
  cmd->add_option("--kind", args->kind,
                  "regression (default), or classification: one target column of class indices "
                  "0, 1, ...; the model outputs class logits, trained with cross_entropy")
      ->check(CLI::IsMember({"regression", "classification"}));
  cmd->add_option("--dtype", args->dtype, "float32 or float64")
      ->check(CLI::IsMember({"float32", "float64"}));
  args->runtime.add_to(*cmd);
  cmd->callback([args] { run_fit(*args); });
}

}  // namespace gsnn::cli
