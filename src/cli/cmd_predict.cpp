// gsnn predict: means and standard deviations (or classes) for the rows of a
// CSV file, or for the images of an IDX file.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cli/common.hpp"
#include "data/csv.hpp"
#include "data/idx.hpp"
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

// The model's inputs read from `path`: an image model ([channels, height,
// width], inputs unnamed) reads an IDX file of 8-bit images, scaled to [0, 1]
// (as the fashion tasks scale them) a chunk at a time, its rows numbered
// "image" 1, 2, ...; any other model reads the CSV columns named like its
// inputs (a sequence model's inputs name each step's features, step by step).
struct PredictInputs {
  torch::Tensor x;                  // [n, input shape...]: float64 values, or uint8 images
  std::vector<std::string> header;  // of the input columns copied to the output

  bool images() const { return x.scalar_type() == torch::kUInt8; }
  torch::Tensor rows(int64_t start, int64_t end) const {  // model inputs of rows [start, end)
    const auto part = x.slice(0, start, end);
    return images() ? part.to(torch::kFloat64).div_(255) : part;
  }
  std::vector<std::vector<double>> columns(int64_t start, int64_t end) const {
    if (!images()) {
      const auto flat = x.slice(0, start, end).flatten(1);
      std::vector<std::vector<double>> out;
      for (int64_t i = 0; i < flat.size(1); ++i) out.push_back(column(flat, i));
      return out;
    }
    std::vector<double> numbers;
    for (int64_t i = start; i < end; ++i) numbers.push_back(static_cast<double>(i + 1));
    return {numbers};
  }
};

PredictInputs read_inputs(const TrainedModel& model, const std::string& model_path,
                          const std::string& path) {
  const auto& shape = model.network->shape().input_shape;
  if (shape.size() == 3 && model.inputs.empty()) {
    // Grey images [n, height, width] or [n, channels, height, width].
    auto image_shape = [](std::vector<int64_t> dims) {
      if (dims.size() == 3) dims.insert(dims.begin() + 1, 1);
      return dims;
    };
    const auto check = [&](const std::vector<int64_t>& dims) {
      const auto images = image_shape(dims);
      if (images.size() != 4 || std::vector<int64_t>(images.begin() + 1, images.end()) != shape)
        throw std::invalid_argument(fmt::format("{}: holds images [{}], the model takes [n, {}]",
                                                path, fmt::join(images, ", "),
                                                fmt::join(shape, ", ")));
    };
    torch::Tensor images;
    try {
      images = read_idx(path, check);
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(
          fmt::format("a model of images [{}] reads an IDX file of 8-bit images (e.g. Debian's "
                      "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz): {}",
                      fmt::join(shape, ", "), e.what()));
    }
    return {images.view(image_shape(images.sizes().vec())), {"image"}};
  }
  if (shape.size() != 1 && model.inputs.empty())
    throw std::invalid_argument(
        fmt::format("{}: the model's inputs [{}] have no names (a model saved before gsnn named "
                    "sequence steps), so no CSV column can be matched to them",
                    model_path, fmt::join(shape, ", ")));
  const auto points = select_columns(read_csv(path), path, model.inputs, {});
  auto sizes = shape;
  sizes.insert(sizes.begin(), points.x.size(0));
  return {points.x.reshape(sizes), model.inputs};
}

// The output columns after the inputs: mean and std per target (regression),
// values (e.g. a PDE solution u), or the class and each class's probability.
std::vector<std::string> output_header(const TrainedModel& model, bool gate) {
  std::vector<std::string> header;
  if (model.network->regression()) {
    const bool single = model.outputs.size() == 1;
    for (const auto& name : model.outputs) {
      const std::string prefix = single ? "" : name + "_";
      header.push_back(prefix + "mean");
      header.push_back(prefix + "std");
    }
  } else if (!find_task_kind(model.kind).class_logits) {
    header = model.outputs;
  } else {
    header.push_back("class");
    for (const auto& name : model.outputs) header.push_back("p_" + name);
  }
  if (gate) header.push_back("gate");
  return header;
}

// The columns of output_header for one chunk's predictions.
std::vector<std::vector<double>> output_columns(const TrainedModel& model, const Prediction& out,
                                                bool gate) {
  std::vector<std::vector<double>> columns;
  const auto outputs = static_cast<int64_t>(model.outputs.size());
  if (model.network->regression()) {
    const auto stddev = out.var.sqrt();
    for (int64_t k = 0; k < outputs; ++k) {
      columns.push_back(column(out.mean, k));
      columns.push_back(column(stddev, k));
    }
  } else if (!find_task_kind(model.kind).class_logits) {
    for (int64_t k = 0; k < outputs; ++k) columns.push_back(column(out.mean, k));
  } else {
    columns.push_back(column(out.mean.argmax(1, true).to(torch::kFloat64), 0));
    const auto probabilities = torch::softmax(out.mean, 1);
    for (int64_t k = 0; k < outputs; ++k) columns.push_back(column(probabilities, k));
  }
  if (gate) {
    if (!out.extras.count("gate"))
      throw std::invalid_argument("--gate: model family '" + model.spec.family +
                                  "' has no gate (hybrid models have one)");
    columns.push_back(column(out.extras.at("gate").to(torch::kFloat64), 0));
  }
  return columns;
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
  if (!a.input_std.empty() && model.network->shape().input_shape.size() != 1)
    throw std::invalid_argument(
        "--input-std: applies to models of table inputs, not to images or sequences");
  const auto in = read_inputs(model, a.model, a.data);
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
  auto header = in.header;
  const auto header_inputs = header.size();
  for (const auto& name : output_header(model, a.gate)) header.push_back(name);
  for (size_t i = header_inputs; i < header.size(); ++i)  // the output must read back
    if (std::find(header.begin(), header.begin() + header_inputs, header[i]) !=
        header.begin() + header_inputs)
      throw std::invalid_argument("the output column '" + shown_name(header[i]) +
                                  "' would repeat an input column's name; rename that input");
  // In chunks of about kChunkValues input or output values, written as they
  // come: memory stays bounded whatever the number of rows.
  constexpr int64_t kChunkValues = int64_t{1} << 20;
  const int64_t n = in.x.size(0), values = std::max<int64_t>(in.x.numel() / std::max<int64_t>(n, 1),
                                                             2 * model.outputs.size());
  const int64_t chunk = std::max<int64_t>(1, kChunkValues / values);
  CsvWriter writer(a.out, header);
  int64_t bad = 0, first_bad = -1;
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t end = std::min(n, start + chunk);
    const auto out = model.predict(in.rows(start, end), input_var);
    const auto bad_rows =
        (~torch::isfinite(out.mean) | ~torch::isfinite(out.var)).flatten(1).any(1).nonzero();
    if (bad_rows.numel() > 0 && first_bad < 0) first_bad = start + bad_rows[0][0].item<int64_t>();
    bad += bad_rows.size(0);
    if (bad > 0) continue;  // nothing is written; the rest are counted
    auto columns = in.columns(start, end);
    for (auto& c : output_columns(model, out, a.gate)) columns.push_back(std::move(c));
    writer.write(columns);
  }
  if (bad > 0)
    throw std::runtime_error(fmt::format(
        "predictions are not finite for {} of {} rows (the first: data row {} of {}; inputs far "
        "outside the training data, or an --input-std too large for the model's dtype); nothing "
        "written to {}",
        bad, n, first_bad + 1, a.data, a.out));
  writer.commit();
  if (!a.runtime.quiet) fmt::print("wrote {} predictions to {}\n", n, a.out);
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict",
                                 "predict with a saved model: writes the input columns (an image "
                                 "model: the image number) plus mean and std (predictive standard "
                                 "deviation), or class and class probabilities, to a CSV file");
  cmd->add_option("--model", args->model,
                  "model directory written by `gsnn fit` or `gsnn run` (RUN/model)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data", args->data,
                  "CSV with (at least) the model's input columns (a sequence model's: one per "
                  "feature and step, e.g. x1_0 ... x4_9); for an image model, an IDX file of "
                  "8-bit images (gzip or not), scaled to [0, 1]")
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
