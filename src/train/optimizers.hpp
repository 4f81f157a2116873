// The optimiser and learning-rate-schedule registries the trainer builds
// from (train/trainer.cpp): a new optimiser or schedule is one entry here.
#pragma once

#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/model.hpp"

namespace gsnn {

struct TrainOptions;
struct TrainState;

struct OptimizerInfo {
  std::string name;
  std::string summary;
  bool full_batch_only = false;   // needs the whole training set per step (lbfgs)
  bool per_group_options = true;  // per-group learning rates and weight decay
  // Builds the optimiser over the model's non-empty parameter groups: one
  // optimiser group each, in order, where per_group_options (weight decay
  // only on groups that take it); otherwise a single group.
  std::function<std::unique_ptr<torch::optim::Optimizer>(const std::vector<ParameterGroup>& groups,
                                                         const TrainOptions& options)>
      make;
  // Checkpoint support: copy the optimiser's per-parameter state into / out
  // of a TrainState. Null: runs with this optimiser restart when resumed.
  std::function<void(torch::optim::Optimizer&, const std::vector<torch::Tensor>&, TrainState&)>
      save_state;
  std::function<void(torch::optim::Optimizer&, const std::vector<torch::Tensor>&,
                     const TrainState&)>
      load_state;
  // Sets the learning rate of the optimiser group `group` (options types differ).
  std::function<void(torch::optim::OptimizerParamGroup& group, double lr)> set_lr;
};

struct ScheduleInfo {
  std::string name;
  std::string summary;
  // lr at progress t in [0, 1] as a fraction of the initial lr
  std::function<double(double t, double final_ratio)> factor;
};

const std::vector<OptimizerInfo>& optimizers();  // adam, adamw, lbfgs
const OptimizerInfo& find_optimizer(const std::string& name);
const std::vector<ScheduleInfo>& schedules();  // constant, cosine, exponential
const ScheduleInfo& find_schedule(const std::string& name);

// L-BFGS: iterations run so far, and the iterations one step() call runs.
int64_t lbfgs_iterations(torch::optim::Optimizer& opt);
void set_lbfgs_iterations(torch::optim::Optimizer& opt, int64_t iterations);

}  // namespace gsnn
