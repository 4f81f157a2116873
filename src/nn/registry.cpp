// The family registry and option validation.
#include "nn/registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "core/registry.hpp"
#include "nn/families.hpp"
#include "nn/symmetrised.hpp"

namespace gsnn {
namespace {

std::string type_name(const nlohmann::json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  return "a " + std::string(v.type_name());
}

Registry<ModelFamily>& family_registry() {
  static Registry<ModelFamily> families{
      "model family",
      {gsnn_family(), mlp_family(), hybrid_family(), lengthscale_family(), gmnm_family(),
       kan_family(), rbf_family(), gp_family(), cnn_family(), lstm_family(), autoencoder_family()}};
  return families;
}

}  // namespace

const std::vector<ModelFamily>& model_families() { return family_registry().all(); }

void register_model_family(ModelFamily family) { family_registry().add(std::move(family)); }

const std::vector<ModelAlias>& model_aliases() {
  static const std::vector<ModelAlias> aliases = {
      {"mlp-relu", "mlp", {{"activation", "relu"}}},
      {"mlp-tanh", "mlp", {{"activation", "tanh"}}},
      {"mlp-gelu", "mlp", {{"activation", "gelu"}}},
      {"mlp-silu", "mlp", {{"activation", "silu"}}},
  };
  return aliases;
}

const ModelFamily& find_family(const std::string& name) {
  if (const auto* f = family_registry().find_or_null(name)) return *f;
  auto known = family_registry().names();  // families, then aliases
  for (const auto& a : model_aliases()) known.push_back(a.name);
  throw std::invalid_argument(
      fmt::format("unknown model '{}' (known: {})", name, fmt::join(known, ", ")));
}

nlohmann::json resolve_options(const std::string& what, const std::vector<OptionSpec>& specs,
                               const nlohmann::json& options, bool refuse_inactive) {
  if (!options.is_null() && !options.is_object())
    throw std::invalid_argument(what + ": options must be a table of key = value");
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : specs) out[s.name] = s.default_value;
  if (options.is_null()) return out;
  for (const auto& [key, value] : options.items()) {
    const OptionSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == key) spec = &s;
    if (!spec) {
      std::vector<std::string> known;
      for (const auto& s : specs) known.push_back(s.name);
      throw OptionError(key, fmt::format("{}: unknown option '{}' (known: {})", what, key,
                                         fmt::join(known, ", ")));
    }
    const auto& d = spec->default_value;
    if (d.is_object()) {  // a table of name = number: each value is checked like a number
      if (!value.is_object())
        throw OptionError(
            key, fmt::format("{}: option '{}' must be a table of name = number, got {}", what, key,
                             type_name(value)));
      for (const auto& [name, v] : value.items()) {
        if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < spec->min ||
            v.get<double>() > spec->max)
          throw OptionError(key + "." + name,
                            fmt::format("{}: option '{}.{}' must be a number in [{}, {}], got {}",
                                        what, key, name, spec->min, spec->max, v.dump()));
      }
      out[key] = value;
      continue;
    }
    const bool ok = (d.is_boolean() && value.is_boolean()) ||
                    (d.is_number_integer() && value.is_number_integer()) ||
                    (d.is_number_float() && value.is_number()) ||
                    (d.is_string() && value.is_string());
    if (!ok)
      throw OptionError(key, fmt::format("{}: option '{}' must be {}, got {}", what, key,
                                         type_name(d), type_name(value)));
    if (value.is_number_float() && !std::isfinite(value.get<double>()))
      throw OptionError(key, fmt::format("{}: option '{}' must be a finite number, got {}", what,
                                         key, value.get<double>()));
    if (value.is_number() && value.get<double>() < spec->min)
      throw OptionError(key, fmt::format("{}: option '{}' must be >= {}, got {}", what, key,
                                         spec->min, value.dump()));
    if (value.is_number() && value.get<double>() > spec->max)
      throw OptionError(key, fmt::format("{}: option '{}' must be <= {}, got {}", what, key,
                                         spec->max, value.dump()));
    const auto& choices = spec->choices;
    if (value.is_string() && !choices.empty() &&
        std::find(choices.begin(), choices.end(), value.get<std::string>()) == choices.end())
      throw OptionError(key, fmt::format("{}: option '{}' is {}, expected one of: {}", what, key,
                                         value.dump(), fmt::join(choices, ", ")));
    out[key] = d.is_number_float() ? nlohmann::json(value.get<double>()) : value;
  }
  if (refuse_inactive) {
    std::set<std::string> given;
    for (const auto& [key, value] : options.items()) given.insert(key);
    if (const auto inert = inert_options(what, specs, out, given); !inert.empty())
      throw inert.front();
  }
  return out;
}

namespace {

nlohmann::json active_values(const OptionSpec& spec) {
  return spec.active_value.is_array() ? spec.active_value
                                      : nlohmann::json::array({spec.active_value});
}

}  // namespace

std::string active_condition(const OptionSpec& spec) {
  std::vector<std::string> values;
  for (const auto& v : active_values(spec)) values.push_back(v.dump());
  return fmt::format("{} = {}", spec.active_when, fmt::join(values, " or "));
}

std::vector<OptionError> inert_options(const std::string& what,
                                       const std::vector<OptionSpec>& specs,
                                       const nlohmann::json& options,
                                       const std::set<std::string>& set, bool say_value) {
  std::vector<OptionError> out;
  for (const auto& s : specs) {
    if (s.active_when.empty() || (options.at(s.name) == s.default_value && !set.count(s.name)))
      continue;
    const auto on = active_values(s);
    const auto& now = options.at(s.active_when);
    if (std::find(on.begin(), on.end(), now) != on.end()) continue;
    const auto value = say_value ? fmt::format(" (it is {})", now.dump()) : std::string();
    out.emplace_back(s.name, fmt::format("{}: option '{}' acts only with {}{}; remove it or set {}",
                                         what, s.name, active_condition(s), value, s.active_when));
  }
  return out;
}

std::string option_label(const nlohmann::json& options) {
  std::string out;
  for (const auto& [key, value] : options.items())
    out += (out.empty() ? "" : ",") + key + "=" +
           (value.is_string() ? value.get<std::string>() : value.dump());
  return out;
}

ModelSpec resolve_model(const std::string& name_or_alias, const nlohmann::json& options,
                        bool refuse_inactive) {
  if (!options.is_null() && !options.is_object())
    throw std::invalid_argument("model " + name_or_alias +
                                ": options must be a table of key = value");
  std::string family = name_or_alias;
  nlohmann::json merged = nlohmann::json::object();
  for (const auto& a : model_aliases()) {
    if (a.name != name_or_alias) continue;
    family = a.family;
    merged = a.preset;
    // An alias's name says what it is: its preset options cannot be changed.
    for (const auto& [key, value] : a.preset.items())
      if (options.is_object() && options.contains(key) && options[key] != value)
        throw OptionError(key, fmt::format("model {}: '{}' is fixed to {} by the alias; use model "
                                           "'{}' to choose it",
                                           a.name, key, value.dump(), a.family));
  }
  if (options.is_object()) merged.update(options);
  const auto& f = find_family(family);
  // Wrapper options are kept only when given, so that model specs (and the
  // results keyed by them) written before they existed stay the same.
  nlohmann::json wrappers = nlohmann::json::object();
  for (const auto& w : model_wrapper_options())
    if (merged.contains(w.name)) {
      wrappers.update(
          resolve_options("model " + name_or_alias, {w}, nlohmann::json{{w.name, merged[w.name]}}));
      merged.erase(w.name);
    }
  auto resolved = resolve_options("model " + name_or_alias, f.options, merged, refuse_inactive);
  resolved.update(wrappers);
  return {f.name, resolved};
}

std::vector<OptionError> inert_options(const ModelSpec& spec, const std::set<std::string>& set,
                                       bool say_value) {
  return inert_options("model " + spec.family, find_family(spec.family).options, spec.options, set,
                       say_value);
}

const std::vector<OptionSpec>& model_wrapper_options() {
  static const std::vector<OptionSpec> options = {
      {"symmetrise", false,
       "average over swapping the first two inputs: (f(x1,x2,..) + f(x2,x1,..)) / 2"}};
  return options;
}

ModelPtr build_model(const ModelSpec& spec, const ModelShape& shape) {
  auto model = find_family(spec.family).build(spec.options, shape);
  if (!spec.options.value("symmetrise", false)) return model;
  if (shape.inputs() < 2)
    throw std::invalid_argument("model " + spec.family +
                                ": symmetrise needs at least two inputs to swap");
  return std::make_shared<SymmetrisedImpl>(std::move(model));
}

ModelPtr build_model(const ModelSpec& spec, int64_t inputs, int64_t outputs) {
  return build_model(spec, ModelShape{{inputs}, outputs});
}

}  // namespace gsnn
