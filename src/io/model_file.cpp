// save_model / load_model and TrainedModel::predict.
#include "io/model_file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include "data/csv.hpp"
#include "data/dataset.hpp"
#include "io/config.hpp"
#include "io/files.hpp"
#include "io/safetensors.hpp"
#include "tasks/kind.hpp"

#include "gsnn/version.hpp"

namespace gsnn {
namespace {

const char* kDescription = "model.json";
const char* kWeights = "weights.safetensors";

NamedTensors model_tensors(const Network& n) {
  NamedTensors out;
  for (const auto& p : n->named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : n->named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

std::string dtype_name(torch::ScalarType t) { return t == torch::kFloat64 ? "float64" : "float32"; }

// Inference runs in chunks of at most this many rows and input values, so
// that a million points take the memory of a few thousand (a GSNN layer's
// intermediates are ~16 x width values per row).
constexpr int64_t kPredictChunkRows = 4096;
constexpr int64_t kPredictChunkValues = int64_t{1} << 16;

Prediction concatenate(std::vector<Prediction>& parts) {
  if (parts.size() == 1) return std::move(parts.front());
  Prediction whole;
  std::vector<torch::Tensor> means, vars;
  for (const auto& p : parts) means.push_back(p.mean), vars.push_back(p.var);
  whole.mean = torch::cat(means);
  whole.var = torch::cat(vars);
  for (const auto& entry : parts.front().extras) {
    std::vector<torch::Tensor> pieces;
    for (const auto& p : parts) pieces.push_back(p.extras.at(entry.first));
    whole.extras[entry.first] = torch::cat(pieces);
  }
  return whole;
}

}  // namespace

Prediction TrainedModel::predict(const torch::Tensor& raw_inputs,
                                 const torch::Tensor& raw_input_var) const {
  torch::InferenceMode guard;
  Network module = network;  // shares the weights; forward() does not modify them
  const auto device = reference_tensor(*module).device();
  torch::Tensor var;
  if (raw_input_var.defined()) {
    if (!find_family(spec.family).propagates_variance)
      throw std::invalid_argument("model family '" + spec.family +
                                  "' does not propagate input variance (use a gsnn model)");
    var = raw_input_var.to(device, torch::kFloat64).expand_as(raw_inputs);
  }
  const auto rows = raw_inputs.size(0);
  const auto row_values = std::max<int64_t>(1, raw_inputs.numel() / std::max<int64_t>(rows, 1));
  const auto chunk = std::clamp<int64_t>(kPredictChunkValues / row_values, 1, kPredictChunkRows);
  std::vector<Prediction> parts;
  for (int64_t start = 0; start < rows || parts.empty(); start += chunk) {
    const auto length = std::min(chunk, rows - start);
    auto out = module->predict(raw_inputs.narrow(0, start, length).to(device, torch::kFloat64),
                               var.defined() ? var.narrow(0, start, length) : var);
    out.mean = out.mean.to(torch::kFloat64);
    out.var = out.var.defined() ? out.var.to(torch::kFloat64) : torch::zeros_like(out.mean);
    parts.push_back(std::move(out));
  }
  return concatenate(parts);
}

namespace {

// A model directory may be replaced only if it holds a gsnn model and nothing else.
void check_model_directory_replaceable(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (fs::is_symlink(dir))
    throw std::runtime_error(
        fmt::format("{}: is a symbolic link; refusing to replace it", dir.string()));
  if (!fs::exists(dir)) return;
  if (!fs::is_directory(dir))
    throw std::runtime_error(fmt::format("{}: exists and is not a directory", dir.string()));
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (name != kDescription && name != kWeights)
      throw std::runtime_error(fmt::format(
          "{}: refusing to replace a directory that holds other files than a gsnn model ({})",
          dir.string(), name));
  }
}

// Sizes a model file may declare, checked before anything is allocated.
constexpr int64_t kMaxInputFeatures = int64_t{1} << 26;
constexpr size_t kMaxNames = size_t{1} << 20;

std::vector<std::string> names(const nlohmann::json& d, const char* key) {
  const auto j = d.value(key, nlohmann::json());
  if (!j.is_array() || j.size() > kMaxNames ||
      !std::all_of(j.begin(), j.end(), [](const auto& n) { return n.is_string(); }))
    throw std::runtime_error(
        fmt::format("\"{}\" must be a list of at most {} names (strings)", key, kMaxNames));
  auto out = j.get<std::vector<std::string>>();
  // Names become CSV column names (predict's output): they must read back.
  for (const auto& n : out)
    if (n.empty() ||
        std::any_of(n.begin(), n.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
      throw std::runtime_error(fmt::format(
          "\"{}\" holds the name '{}': names must be non-empty, without control characters", key,
          shown_name(n)));
  auto sorted = out;
  std::sort(sorted.begin(), sorted.end());
  if (const auto twice = std::adjacent_find(sorted.begin(), sorted.end()); twice != sorted.end())
    throw std::runtime_error(fmt::format("\"{}\" names '{}' twice", key, shown_name(*twice)));
  return out;
}

// Version 1 (gsnn 0.1): a regression model of a table; the scaling lived in
// model.json, the GSNN's taus in one [depth, k] tensor, and the Gaussian
// path's erf-tanh was called tanh.
void upgrade_version1(nlohmann::json& d, std::map<std::string, torch::Tensor>& tensors) {
  d["kind"] = "regression";
  d["outputs"] = d.at("targets");
  d["input_shape"] = {d.at("inputs").size()};
  auto& options = d.at("options");
  if (d.at("family") == "gsnn" && options.is_object() && options.value("activation", "") == "tanh")
    options["activation"] = "erf-tanh";
  for (const char* name : {"tau_rho", "tau_squared"}) {
    auto it = tensors.find(std::string("body.") + name);
    if (it == tensors.end()) continue;
    const auto rows = it->second;
    tensors.erase(it);
    if (rows.dim() != 2)
      throw std::runtime_error(fmt::format("body.{}: expected [depth, k]", name));
    for (int64_t l = 0; l < rows.size(0); ++l)
      tensors[fmt::format("body.hidden{}.{}", l, name)] = rows[l].clone();
  }
  const auto s = Standardizer::from_json(d.at("scaler"));
  tensors["input_mean"] = s.x_mean;
  tensors["input_scale"] = s.x_scale;
  tensors["target_mean"] = s.y_mean;
  tensors["target_scale"] = s.y_scale;
  const auto dtype = d.value("dtype", "float32") == "float64" ? torch::kFloat64 : torch::kFloat32;
  for (const char* name : {"input_mean", "input_scale", "target_mean", "target_scale"})
    tensors[name] = tensors[name].to(dtype);
}

void check_finite(const std::string& what, const torch::Tensor& t, const std::string& where) {
  if (!torch::isfinite(t).all().item<bool>())
    throw std::runtime_error(fmt::format("{}: {} holds NaN or infinity", where, what));
}

}  // namespace

void save_model(const TrainedModel& model, const std::string& directory) {
  const auto tensors = model_tensors(model.network);
  for (const auto& [name, t] : tensors)
    if (!torch::isfinite(t).all().item<bool>())
      throw std::runtime_error(fmt::format(
          "{}: not saved: tensor '{}' holds NaN or infinity (did training diverge, or are the "
          "data values too large?)",
          directory, name));
  auto dir = std::filesystem::path(directory).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "model/" is "model"
  if (dir.empty()) throw std::runtime_error("the model directory is empty");
  check_model_directory_replaceable(dir);
  nlohmann::json description = {
      {"format", "gsnn-model"},
      {"format_version", kModelFormatVersion},
      {"gsnn_version", GSNN_VERSION},
      {"kind", model.kind},
      {"family", model.spec.family},
      {"options", model.spec.options},
      {"input_shape", model.network->shape().input_shape},
      {"inputs", model.inputs},
      {"targets", model.targets},
      {"outputs", model.outputs},
      {"dtype", dtype_name(tensors.front().second.scalar_type())},
      {"weights", kWeights},
      {"training", model.training},
  };
  if (model.network->regression())
    description["noise_std"] = model.network->noise_std().item<double>();
  // The pair is written into a fresh directory that then replaces the old
  // one as a whole: a crash never leaves new weights beside an old description.
  // A staging name of its own (mkdtemp): nothing of the user's is deleted,
  // and concurrent saves do not collide.
  std::error_code ec;
  if (!dir.parent_path().empty() &&
      (std::filesystem::create_directories(dir.parent_path(), ec), ec))
    throw std::runtime_error(fmt::format("{}: cannot create the directory: {}",
                                         dir.parent_path().string(), ec.message()));
  // Removed by a signal too (remove_temporaries_on_signals), before or after the swap.
  const StagingDirectory staging(dir.string(), {kWeights, kDescription});
  const auto fresh = std::filesystem::path(staging.path());
  try {
    write_safetensors((fresh / kWeights).string(), tensors,
                      {{"format", "gsnn-model"}, {"family", model.spec.family}});
    // The checksum ties this description to these weights (a stray copy, a
    // hand edit): load_model refuses a mismatch.
    description["weights_checksum"] = file_checksum((fresh / kWeights).string());
    write_file_atomically((fresh / kDescription).string(), description.dump(2) + "\n");
    replace_directory(fresh.string(), dir.string());
  } catch (...) {
    std::filesystem::remove_all(fresh);
    throw;
  }
}

TrainedModel load_model(const std::string& directory) {
  const auto dir = std::filesystem::path(directory);
  const auto json_path = (dir / kDescription).string();
  std::string text;
  try {
    text = read_text_file(json_path, kMaxJsonBytes);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(
        fmt::format("{}: cannot open model description ({})", json_path, e.what()));
  }
  nlohmann::json d;
  try {
    d = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not valid JSON: {}", json_path, e.what()));
  }
  TrainedModel m;
  std::string weights_path;
  std::map<std::string, torch::Tensor> tensors;
  try {
    if (!d.is_object() || d.value("format", "") != "gsnn-model")
      throw std::runtime_error("not a gsnn model description (format != gsnn-model)");
    if (!d.contains("format_version") || !d["format_version"].is_number_integer())
      throw std::runtime_error("\"format_version\" must be an integer");
    const int version = d["format_version"];
    if (version != 1 && version != kModelFormatVersion)
      throw std::runtime_error(
          fmt::format("format version {} is not supported (this gsnn reads versions 1 and {})",
                      version, kModelFormatVersion));
    // The weights are a file of this directory: a name, never a path.
    const auto weights = d.value("weights", nlohmann::json(kWeights));
    if (!weights.is_string() || weights.get<std::string>().empty() ||
        weights.get<std::string>().find('/') != std::string::npos || weights == "." ||
        weights == "..")
      throw std::runtime_error(fmt::format(
          "\"weights\" must name a file inside the model directory, got {}", weights.dump()));
    if (!d.contains("weights_checksum") || !d["weights_checksum"].is_string())
      throw std::runtime_error("\"weights_checksum\" is missing");
    weights_path = (dir / weights.get<std::string>()).string();
    if (!std::filesystem::is_regular_file(weights_path))
      throw std::runtime_error(fmt::format("{}: not a regular file", weights_path));
    tensors = read_safetensors(weights_path).tensors;
    if (d["weights_checksum"] != file_checksum(weights_path))
      throw std::runtime_error(
          fmt::format("{} does not belong to this description (checksum mismatch: written by "
                      "another save?)",
                      weights_path));
    if (version == 1) upgrade_version1(d, tensors);

    m.kind = d.at("kind").get<std::string>();
    const auto& kind = find_task_kind(m.kind);
    m.inputs = names(d, "inputs");
    m.targets = names(d, "targets");
    m.outputs = names(d, "outputs");
    ModelShape shape{json_integers(d.value("input_shape", nlohmann::json()), "\"input_shape\""),
                     static_cast<int64_t>(m.outputs.size())};
    int64_t features = 1;
    for (auto s : shape.input_shape) {
      if (s < 1 || s > kMaxInputFeatures || features > kMaxInputFeatures / s)
        throw std::runtime_error(
            fmt::format("\"input_shape\" must hold positive sizes of at most "
                        "{} features in all",
                        kMaxInputFeatures));
      features *= s;
    }
    if (shape.input_shape.empty() || m.outputs.empty())
      throw std::runtime_error("\"input_shape\" and \"outputs\" must not be empty");
    // Images may leave their pixels unnamed; tables and named sequences name every value.
    if ((shape.input_shape.size() == 1 || !m.inputs.empty()) &&
        m.inputs.size() != static_cast<size_t>(features))
      throw std::runtime_error("\"inputs\" must name every input feature");
    if (kind.regression && m.targets.size() != m.outputs.size())
      throw std::runtime_error("a regression model has one output per target");
    if (!d.value("family", nlohmann::json()).is_string())
      throw std::runtime_error("\"family\" must be a string");
    m.spec = resolve_model(d["family"], d.value("options", nlohmann::json()),
                           /*refuse_inactive=*/false);
    m.training = d.value("training", nlohmann::json::object());
    const auto dtype = d.value("dtype", "float32");
    if (dtype != "float32" && dtype != "float64")
      throw std::runtime_error("\"dtype\" must be \"float32\" or \"float64\", got \"" + dtype +
                               "\"");
    m.network = Network(build_model(m.spec, shape), shape, kind.regression, 1.0);
    if (dtype == "float64") m.network->to(torch::kFloat64);
  } catch (const std::exception& e) {  // JSON, option and LibTorch errors alike
    throw std::runtime_error(fmt::format("{}: {}", json_path, e.what()));
  }

  std::set<std::string> resizable;
  for (const auto& b : m.network->body().data_sized_buffers()) resizable.insert("body." + b);
  std::set<std::string> used;
  torch::NoGradGuard guard;
  for (auto& [name, target] : model_tensors(m.network)) {
    auto it = tensors.find(name);
    if (it == tensors.end())
      throw std::runtime_error(fmt::format("{}: tensor '{}' is missing", weights_path, name));
    const auto& t = it->second;
    if (t.scalar_type() != target.scalar_type())
      throw std::runtime_error(fmt::format("{}: tensor '{}' is {}, the model needs {}",
                                           weights_path, name, c10::toString(t.scalar_type()),
                                           c10::toString(target.scalar_type())));
    if (t.sizes() != target.sizes() && !resizable.count(name))
      throw std::runtime_error(fmt::format("{}: tensor '{}' has shape [{}], the model needs [{}]",
                                           weights_path, name, fmt::join(t.sizes(), ","),
                                           fmt::join(target.sizes(), ",")));
    check_finite(fmt::format("tensor '{}'", name), t, weights_path);
    if (t.sizes() != target.sizes())
      target.set_(t.clone());  // a data-sized buffer takes the stored shape
    else
      target.copy_(t);
    used.insert(name);
  }
  for (const auto& [name, t] : tensors)
    if (!used.count(name))
      throw std::runtime_error(fmt::format(
          "{}: unexpected tensor '{}' (written by another architecture?)", weights_path, name));
  for (const auto& scale : {m.network->scaling()[1], m.network->scaling()[3]})
    if (scale.defined() && !(scale > 0).all().item<bool>())
      throw std::runtime_error(fmt::format("{}: the data scaling must be > 0", weights_path));
  try {
    m.network->body().check_weights();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("{}: {}", weights_path, e.what()));
  }
  m.network->eval();
  return m;
}

}  // namespace gsnn
