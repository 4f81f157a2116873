// save_model / load_model and TrainedModel::predict.
#include "io/model_file.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "io/files.hpp"
#include "io/safetensors.hpp"

#include "gsnn/version.hpp"

namespace gsnn {
namespace {

const char* kDescription = "model.json";
const char* kWeights = "weights.safetensors";

NamedTensors model_tensors(const Regressor& r) {
  NamedTensors out;
  for (const auto& p : r->named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : r->named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

std::string dtype_name(torch::ScalarType t) { return t == torch::kFloat64 ? "float64" : "float32"; }

}  // namespace

Moments TrainedModel::predict(const torch::Tensor& raw_inputs,
                              const torch::Tensor& raw_input_var) const {
  torch::InferenceMode guard;
  Regressor module = regressor;  // shares the weights; forward() does not modify them
  const auto param = module->parameters().front();
  const auto x = scaler.inputs(raw_inputs.to(torch::kFloat64)).to(param.options());
  auto var = torch::zeros_like(x);
  if (raw_input_var.defined()) {
    if (!find_family(spec.family).propagates_variance)
      throw std::invalid_argument("model family '" + spec.family +
                                  "' does not propagate input variance (use a gsnn model)");
    const auto scale = scaler.x_scale.to(raw_input_var.device());
    var = (raw_input_var.to(torch::kFloat64) / (scale * scale)).expand_as(x).to(param.options());
  }
  auto standard = module->forward(Moments{x, var});
  return scaler.targets_back({standard.mean.to(torch::kFloat64), standard.var.to(torch::kFloat64)});
}

namespace {

// A model directory may be replaced only if it holds a gsnn model and nothing else.
void check_model_directory_replaceable(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
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

void check_finite(const std::string& what, const torch::Tensor& t, const std::string& directory) {
  if (!torch::isfinite(t).all().item<bool>())
    throw std::runtime_error(fmt::format(
        "{}: not saved: {} holds NaN or infinity (did training diverge, or are the data values "
        "too large?)",
        directory, what));
}

}  // namespace

void save_model(const TrainedModel& model, const std::string& directory) {
  const auto tensors = model_tensors(model.regressor);
  for (const auto& [name, t] : tensors) check_finite("tensor '" + name + "'", t, directory);
  for (const auto& t :
       {model.scaler.x_mean, model.scaler.x_scale, model.scaler.y_mean, model.scaler.y_scale})
    check_finite("the scaler", t, directory);
  const auto dir = std::filesystem::path(directory);
  check_model_directory_replaceable(dir);
  nlohmann::json description = {
      {"format", "gsnn-model"},
      {"format_version", kModelFormatVersion},
      {"gsnn_version", GSNN_VERSION},
      {"family", model.spec.family},
      {"options", model.spec.options},
      {"inputs", model.inputs},
      {"targets", model.targets},
      {"dtype", dtype_name(tensors.front().second.scalar_type())},
      {"scaler", model.scaler.to_json()},
      {"noise_std", model.regressor->noise_std().item<double>()},
      {"weights", kWeights},
      {"training", model.training},
  };
  // The pair is written into a fresh directory that then replaces the old
  // one as a whole: a crash never leaves new weights beside an old description.
  const auto fresh = std::filesystem::path(directory + ".new");
  std::filesystem::remove_all(fresh);
  std::filesystem::create_directories(fresh);
  write_safetensors((fresh / kWeights).string(), tensors,
                    {{"format", "gsnn-model"}, {"family", model.spec.family}});
  // The checksum ties this description to these weights (a stray copy, a
  // hand edit): load_model refuses a mismatch.
  description["weights_checksum"] = file_checksum((fresh / kWeights).string());
  write_file_atomically((fresh / kDescription).string(), description.dump(2) + "\n");
  replace_directory(fresh.string(), dir.string());
}

TrainedModel load_model(const std::string& directory) {
  const auto dir = std::filesystem::path(directory);
  const auto json_path = (dir / kDescription).string();
  std::ifstream in(json_path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open model description", json_path));
  nlohmann::json d;
  try {
    d = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not valid JSON: {}", json_path, e.what()));
  }
  TrainedModel m;
  try {
    if (d.value("format", "") != "gsnn-model")
      throw std::runtime_error("not a gsnn model description (format != gsnn-model)");
    const int version = d.at("format_version");
    if (version != kModelFormatVersion)
      throw std::runtime_error(
          fmt::format("format version {} is not supported (this gsnn reads version {})", version,
                      kModelFormatVersion));
    m.inputs = d.at("inputs").get<std::vector<std::string>>();
    m.targets = d.at("targets").get<std::vector<std::string>>();
    if (m.inputs.empty() || m.targets.empty())
      throw std::runtime_error("inputs and targets must not be empty");
    auto options = d.at("options");
    // Files written before the Gaussian path's tanh was renamed erf-tanh.
    if (d.at("family") == "gsnn" && options.is_object() && options.value("activation", "") == "tanh")
      options["activation"] = "erf-tanh";
    m.spec = resolve_model(d.at("family"), options);
    m.scaler = Standardizer::from_json(d.at("scaler"));
    const auto n_in = static_cast<int64_t>(m.inputs.size());
    const auto n_out = static_cast<int64_t>(m.targets.size());
    if (m.scaler.x_mean.numel() != n_in || m.scaler.x_scale.numel() != n_in ||
        m.scaler.y_mean.numel() != n_out || m.scaler.y_scale.numel() != n_out)
      throw std::runtime_error("scaler sizes do not match inputs/targets");
    m.training = d.value("training", nlohmann::json::object());
    const auto dtype = d.value("dtype", "float32");
    if (dtype != "float32" && dtype != "float64")
      throw std::runtime_error("\"dtype\" must be \"float32\" or \"float64\", got \"" + dtype +
                               "\"");
    m.regressor = Regressor(build_model(m.spec, m.inputs.size(), m.targets.size()), 1.0);
    if (dtype == "float64") m.regressor->to(torch::kFloat64);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", json_path, e.what()));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", json_path, e.what()));
  }

  // The weights are a file of this directory: a name, never a path.
  const auto weights = d.value("weights", nlohmann::json(kWeights));
  if (!weights.is_string() || weights.get<std::string>().empty() ||
      weights.get<std::string>().find('/') != std::string::npos || weights == "." ||
      weights == "..")
    throw std::runtime_error(
        fmt::format("{}: \"weights\" must name a file inside the model directory, got {}",
                    json_path, weights.dump()));
  if (!d.contains("weights_checksum") || !d["weights_checksum"].is_string())
    throw std::runtime_error(fmt::format("{}: \"weights_checksum\" is missing", json_path));
  const auto weights_path = (dir / weights.get<std::string>()).string();
  if (!std::filesystem::is_regular_file(weights_path))
    throw std::runtime_error(fmt::format("{}: not a regular file", weights_path));
  auto file = read_safetensors(weights_path);
  if (d["weights_checksum"] != file_checksum(weights_path))
    throw std::runtime_error(
        fmt::format("{}: does not belong to {} (checksum mismatch: written by another save?)",
                    weights_path, json_path));
  std::set<std::string> used;
  torch::NoGradGuard guard;
  for (auto& [name, target] : model_tensors(m.regressor)) {
    auto it = file.tensors.find(name);
    if (it == file.tensors.end())
      throw std::runtime_error(fmt::format("{}: tensor '{}' is missing", weights_path, name));
    if (it->second.sizes() != target.sizes())
      throw std::runtime_error(fmt::format("{}: tensor '{}' has shape [{}], the model needs [{}]",
                                           weights_path, name, fmt::join(it->second.sizes(), ","),
                                           fmt::join(target.sizes(), ",")));
    if (it->second.scalar_type() != target.scalar_type())
      throw std::runtime_error(fmt::format(
          "{}: tensor '{}' is {}, the model needs {}", weights_path, name,
          c10::toString(it->second.scalar_type()), c10::toString(target.scalar_type())));
    if (!torch::isfinite(it->second).all().item<bool>())
      throw std::runtime_error(
          fmt::format("{}: tensor '{}' holds NaN or infinity", weights_path, name));
    target.copy_(it->second);
    used.insert(name);
  }
  for (const auto& [name, t] : file.tensors)
    if (!used.count(name))
      throw std::runtime_error(fmt::format(
          "{}: unexpected tensor '{}' (written by another architecture?)", weights_path, name));
  m.regressor->eval();
  return m;
}

}  // namespace gsnn
