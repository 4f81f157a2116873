// Objectives: what training minimises. An objective computes the loss of a
// Network on a batch of raw data, with named parts ("mse", "nll", "pde",
// "gate_entropy", ...) that go into learning curves, results and reports.
// New objectives plug in through register_objective; the trainer, the
// runner and the report need no change.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/model.hpp"
#include "nn/registry.hpp"

namespace gsnn {

// Raw data on the model's device: inputs [n, input_shape...], targets
// [n, targets] (class indices as numbers for classification).
struct Batch {
  torch::Tensor x, y;
  torch::Tensor regime = {};  // optional [n, 1] 0/1 regime labels (Dataset::regime)
  int64_t size() const { return x.defined() ? x.size(0) : 0; }
};

struct LossParts {
  torch::Tensor total;                                       // what is minimised (a scalar)
  std::vector<std::pair<std::string, torch::Tensor>> parts;  // its named components
};

class Objective {
 public:
  virtual ~Objective() = default;
  virtual LossParts loss(Network& model, const Batch& batch) const = 0;
  // Prediction extras the loss reads (e.g. a mixture's "expert_mean"), and
  // what to tell a user whose model lacks them.
  virtual std::vector<std::string> needed_extras() const { return {}; }
  virtual std::string needs_message() const { return ""; }
  // Runs once after training (e.g. mse sets the output noise by moment
  // matching on `data`). Default: nothing.
  virtual void finish(Network& model, const Batch& data) const;
};

// An objective's numeric options (TrainOptions::loss_options), complete:
// resolved against ObjectiveInfo::options.
using ObjectiveOptions = std::map<std::string, double>;

struct ObjectiveInfo {
  std::string name;
  std::string summary;
  std::vector<std::string> kinds;  // task kinds it applies to
  std::function<std::shared_ptr<const Objective>(const ObjectiveOptions&)> make;
  std::vector<OptionSpec> options = {};  // numbers only, e.g. huber's delta
};

// Floor under the predictive variance in the Gaussian NLL (standardised
// units: a std of 1e-3 target standard deviations). Without it a model whose
// variance goes to 0 drives the loss to -infinity.
constexpr double kNllVarianceFloor = 1e-6;

// Built in: mse, nll, huber, pseudo_huber, moe, multihead (regression),
// cross_entropy (classification), pde.
const std::vector<ObjectiveInfo>& objectives();
void register_objective(ObjectiveInfo info);  // the name must be new
// Throws std::invalid_argument listing the known names.
const ObjectiveInfo& find_objective(const std::string& name);
// `options` completed with the objective's defaults; throws OptionError
// ("loss_options.<key>") for an unknown key or a value out of range.
ObjectiveOptions resolve_objective_options(const std::string& name,
                                           const std::map<std::string, double>& options);
// The objective `name` for a task of kind `kind` (throws if it does not apply).
std::shared_ptr<const Objective> make_objective(const std::string& name, const std::string& kind,
                                                const std::map<std::string, double>& options = {});

}  // namespace gsnn
