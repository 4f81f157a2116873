// Objectives: what training minimises. An objective computes the loss of a
// Network on a batch of raw data, with named parts ("mse", "nll", "pde",
// "gate_entropy", ...) that go into learning curves, results and reports.
// New objectives plug in through register_objective; the trainer, the
// runner and the report need no change.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/model.hpp"

namespace gsnn {

// Raw data on the model's device: inputs [n, input_shape...], targets
// [n, targets] (class indices as numbers for classification).
struct Batch {
  torch::Tensor x, y;
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
  // Runs once after training (e.g. mse sets the output noise by moment
  // matching on `data`). Default: nothing.
  virtual void finish(Network& model, const Batch& data) const;
};

struct ObjectiveInfo {
  std::string name;
  std::string summary;
  std::vector<std::string> kinds;  // task kinds it applies to
  std::function<std::shared_ptr<const Objective>()> make;
};

// Floor under the predictive variance in the Gaussian NLL (standardised
// units: a std of 1e-3 target standard deviations). Without it a model whose
// variance goes to 0 drives the loss to -infinity.
constexpr double kNllVarianceFloor = 1e-6;

// Built in: mse, nll (regression), cross_entropy (classification).
const std::vector<ObjectiveInfo>& objectives();
void register_objective(ObjectiveInfo info);  // the name must be new
// Throws std::invalid_argument listing the known names.
const ObjectiveInfo& find_objective(const std::string& name);
// The objective `name` for a task of kind `kind` (throws if it does not apply).
std::shared_ptr<const Objective> make_objective(const std::string& name, const std::string& kind);

}  // namespace gsnn
