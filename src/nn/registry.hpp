// The model registry: every family's name, one-line summary, options (with
// defaults, choices and help) and factory. The CLI, experiment files and the
// model file format all go through it, so a new family plugs in here.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/model.hpp"

namespace gsnn {

struct OptionSpec {
  std::string name;
  // Also fixes the type: integer, number, boolean, string, or an object for
  // a table of name = number (e.g. a learning-rate multiplier per group).
  nlohmann::json default_value;
  std::string help;
  std::vector<std::string> choices = {};                  // for strings; empty = any
  double min = -std::numeric_limits<double>::infinity();  // for numbers (and table values)
  double max = std::numeric_limits<double>::infinity();   // sizes are bounded before allocating
  // An option that acts only when another option has a value (a GMNM head's
  // components only with head = "gmnm"): given (or not at its default) while
  // the other is off, it is refused rather than silently ignored.
  std::string active_when = {};      // the other option's name; empty = always active
  nlohmann::json active_value = {};  // its value, or an array of the values it may have
};

struct ModelFamily {
  std::string name;
  std::string summary;
  bool propagates_variance = false;  // carries input variance through (Gaussian path)
  std::vector<OptionSpec> options;
  std::function<ModelPtr(const nlohmann::json& options, const ModelShape& shape)> build;
  // The integer option that sets the model's size (experiments' target_params).
  std::string size_option = "width";
  // Trained and saved in float64 whatever the task's precision (e.g. a GP's
  // Cholesky factor).
  bool needs_float64 = false;
};

// A family name or alias with complete, validated options.
struct ModelSpec {
  std::string family;
  nlohmann::json options;
};

// An alias is a family with preset options, e.g. "mlp-relu" = mlp{activation=relu}.
struct ModelAlias {
  std::string name;
  std::string family;
  nlohmann::json preset;
};

const std::vector<ModelFamily>& model_families();
// Adds a family (its name must be new): the CLI, experiment files and model
// files then know it like a built-in one.
void register_model_family(ModelFamily family);
const std::vector<ModelAlias>& model_aliases();
const ModelFamily& find_family(const std::string& name);  // throws std::invalid_argument

// Fills in defaults and rejects unknown keys, wrong types and out-of-range
// values with a message naming the option (std::invalid_argument).
// refuse_inactive = false accepts an option that acts only with another
// (OptionSpec::active_when) while that one is off: what model files saved
// before such options were refused hold.
ModelSpec resolve_model(const std::string& name_or_alias, const nlohmann::json& options,
                        bool refuse_inactive = true);
// Options every family accepts, kept in a spec only when given:
// `symmetrise` (nn/symmetrised.hpp).
const std::vector<OptionSpec>& model_wrapper_options();
ModelPtr build_model(const ModelSpec& spec, const ModelShape& shape);
ModelPtr build_model(const ModelSpec& spec, int64_t inputs, int64_t outputs);  // flat inputs

// A bad option: `key` names it so that callers can point at its source line.
struct OptionError : std::invalid_argument {
  OptionError(const std::string& key, const std::string& message)
      : std::invalid_argument(message), key(key) {}
  std::string key;
};

// "key=value,..." of an options table (strings unquoted), for labels such as
// "gsnn[depth=2,tau_schedule=learned]" and "function2d[level=4]".
std::string option_label(const nlohmann::json& options);

// Validates `options` against `specs` (shared with tasks and trainers);
// throws OptionError.
nlohmann::json resolve_options(const std::string& what, const std::vector<OptionSpec>& specs,
                               const nlohmann::json& options, bool refuse_inactive = true);

// The options of resolved `options` that are set (given in `set`, or not at
// their default) while the option they act with is off
// (OptionSpec::active_when), each as the error naming both (and, with
// say_value, the other's value).
std::vector<OptionError> inert_options(const std::string& what,
                                       const std::vector<OptionSpec>& specs,
                                       const nlohmann::json& options,
                                       const std::set<std::string>& set = {},
                                       bool say_value = true);
std::vector<OptionError> inert_options(const ModelSpec& spec, const std::set<std::string>& set,
                                       bool say_value = true);

// "head = \"gmnm\"" or "paths = \"both\" or \"gaussian\"": when `spec` acts.
std::string active_condition(const OptionSpec& spec);

}  // namespace gsnn
