// gsnn predict: means and standard deviations for the rows of a CSV file.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cli/common.hpp"
#include "data/csv.hpp"
#include "io/config.hpp"
#include "io/files.hpp"
#include "io/model_file.hpp"
#include "tasks/kind.hpp"

namespace gsnn::cli {
namespace {

struct PredictArgs {
  std::string model, data, out;
  std::vector<std::string> input_std;  // NAME=VALUE
  bool gate = false;
  RuntimeFlags runtime;
};

std::vector<double> column(const torch::Tensor& t, int64_t c) {
  auto col = t.select(1, c).contiguous().to(torch::kCPU, torch::kFloat64);
  return {col.data_ptr<double>(), col.data_ptr<double>() + col.numel()};
}

void run_predict(const PredictArgs& a) {
  a.runtime.apply();
  if (a.out.empty()) throw std::invalid_argument("--out is empty");
  if (same_file(a.out, a.data))
    throw std::invalid_argument("--out " + a.out +
                                " is the input file --data: refusing to overwrite it");
  auto model = load_model(a.model);
  const auto out_dir = std::filesystem::path(a.out).parent_path();
  if (same_file(out_dir.empty() ? "." : out_dir.string(), a.model))
    throw std::invalid_argument("--out " + a.out +
                                " is inside the model directory: refusing to write there");
  model.network->to(torch::Device(a.runtime.device));  // --device is honoured, not ignored
  if (const auto& shape = model.network->shape().input_shape; shape.size() != 1)
    throw std::invalid_argument(fmt::format(
        "{}: a model of samples shaped [{}] (images or sequences) does not read CSV rows", a.model,
        fmt::join(shape, ", ")));
  const auto table = read_csv(a.data);
  const auto points = select_columns(table, a.data, model.inputs, {});
  torch::Tensor input_var;
  if (!a.input_std.empty()) {
    input_var = torch::zeros({1, static_cast<int64_t>(model.inputs.size())}, torch::kFloat64);
    for (const auto& text : a.input_std) {
      const auto [name, value] = parse_assignment(text);
      const auto it = std::find(model.inputs.begin(), model.inputs.end(), name);
      if (it == model.inputs.end())
        throw std::invalid_argument("--input-std: '" + name + "' is not an input of the model");
      if (!value.is_number() || value.get<double>() < 0)
        throw std::invalid_argument("--input-std: " + name + " needs a number >= 0");
      auto slot = input_var[0][it - model.inputs.begin()];
      if (slot.item<double>() != 0)
        throw std::invalid_argument("--input-std: '" + name + "' is given twice");
      slot.fill_(std::pow(value.get<double>(), 2));
    }
  }
  const auto out = model.predict(points.x, input_var);
  const auto bad_rows =
      (~torch::isfinite(out.mean) | ~torch::isfinite(out.var)).flatten(1).any(1).nonzero();
  if (bad_rows.numel() > 0)
    throw std::runtime_error(fmt::format(
        "predictions are not finite for {} of {} rows (the first: data row {} of {}; inputs far "
        "outside the training data, or an --input-std too large for the model's dtype); nothing "
        "written to {}",
        bad_rows.size(0), out.mean.size(0), bad_rows[0][0].item<int64_t>() + 1, a.data, a.out));
  std::vector<std::string> header = model.inputs;
  std::vector<std::vector<double>> columns;
  for (size_t i = 0; i < model.inputs.size(); ++i) columns.push_back(column(points.x, i));
  const auto header_inputs = header.size();
  if (model.network->regression()) {
    const bool single = model.outputs.size() == 1;
    for (size_t k = 0; k < model.outputs.size(); ++k) {
      const std::string prefix = single ? "" : model.outputs[k] + "_";
      header.push_back(prefix + "mean");
      header.push_back(prefix + "std");
      columns.push_back(column(out.mean, k));
      columns.push_back(column(out.var.sqrt(), k));
    }
  } else if (!find_task_kind(model.kind).class_logits) {  // values, e.g. a PDE solution u
    for (size_t k = 0; k < model.outputs.size(); ++k) {
      header.push_back(model.outputs[k]);
      columns.push_back(column(out.mean, k));
    }
  } else {  // classes: the most probable one, then each class's probability
    header.push_back("class");
    columns.push_back(column(out.mean.argmax(1, true).to(torch::kFloat64), 0));
    const auto probabilities = torch::softmax(out.mean, 1);
    for (size_t k = 0; k < model.outputs.size(); ++k) {
      header.push_back("p_" + model.outputs[k]);
      columns.push_back(column(probabilities, k));
    }
  }
  if (a.gate) {
    if (!out.extras.count("gate"))
      throw std::invalid_argument("--gate: model family '" + model.spec.family +
                                  "' has no gate (hybrid models have one)");
    header.push_back("gate");
    columns.push_back(column(out.extras.at("gate").to(torch::kFloat64), 0));
  }
  for (size_t i = header_inputs; i < header.size(); ++i)  // the output must read back
    if (std::find(header.begin(), header.begin() + header_inputs, header[i]) !=
        header.begin() + header_inputs)
      throw std::invalid_argument("the output column '" + header[i] +
                                  "' would repeat an input column's name; rename that input");
  write_csv(a.out, header, columns);
  if (!a.runtime.quiet) fmt::print("wrote {} predictions to {}\n", points.size(), a.out);
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd =
      app.add_subcommand("predict",
                         "predict with a saved model: writes the input columns plus mean and std "
                         "(predictive standard deviation) to a CSV file");
  cmd->add_option("--model", args->model, "model directory written by `gsnn fit`")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data", args->data, "CSV with (at least) the model's input columns")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out, "output CSV")->required();
  cmd->add_option("--input-std", args->input_std,
                  "measurement-noise std of an input, NAME=VALUE in the input's units, "
                  "repeatable; carried to the output std by gsnn models");
  cmd->add_flag("--gate", args->gate,
                "also write the model's gate per row (hybrid: the Gaussian path's weight or "
                "share, see docs/hybrid.md)");
  args->runtime.add_to(*cmd);
  cmd->callback([args] { run_predict(*args); });
}

}  // namespace gsnn::cli
