// Training of a Regressor: Adam, AdamW or L-BFGS; full batch or mini-batch;
// learning-rate schedules; validation with early stopping; gradient
// clipping; MSE or Gaussian NLL. A non-finite loss stops training and
// restores the last weights that gave a finite loss.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nn/model.hpp"
#include "nn/registry.hpp"
#include "train/loss.hpp"

namespace gsnn {

struct TrainOptions {
  std::string optimizer = "adam";      // adam | adamw | lbfgs
  double lr = 1e-2;                    // initial learning rate
  std::string lr_schedule = "cosine";  // constant | cosine | exponential
  double lr_final_ratio = 0.01;        // final lr = lr * ratio (cosine, exponential)
  double weight_decay = 0.0;           // adam: L2; adamw: decoupled
  int64_t steps = 2000;                // optimiser steps
  int64_t batch_size = 0;              // 0 = full batch
  std::string loss = "mse";            // mse | nll
  double clip_norm = 0.0;              // max gradient norm, 0 = off
  int64_t eval_every = 50;             // steps between validation checks and curve points
  int64_t patience = 0;     // early stop after this many checks without improvement, 0 = off
  double noise_init = 0.1;  // initial output noise std (standardised units)
  uint64_t seed = 0;
  bool progress = true;  // progress line on stderr

  // Option table for experiment files and --help (see registry.hpp).
  static const std::vector<OptionSpec>& specs();
  static TrainOptions from_json(const nlohmann::json& options);  // validates
  nlohmann::json to_json() const;
};

struct CurvePoint {
  int64_t step;
  double train_loss;
  double validation_loss;  // NaN without validation data
  double seconds;
};

struct TrainResult {
  int64_t steps_run = 0;
  int64_t best_step = 0;  // weights kept are from this step
  double best_validation = 0;
  std::string stop_reason;  // "completed", "early stop", or a non-finite-loss message
  bool diverged = false;
  std::vector<CurvePoint> curve;
  double seconds = 0;
};

// Everything besides the model's weights that training needs to continue
// exactly where it stopped (adam and adamw; lbfgs restarts).
struct TrainState {
  int64_t step = 0;  // steps done
  std::vector<CurvePoint> curve;
  double best_validation = 0;
  int64_t best_step = 0;
  int64_t checks_without_improvement = 0;
  double seconds = 0;
  std::vector<torch::Tensor> kept;  // the weights that will be kept (best validation)
  std::vector<torch::Tensor> exp_avg, exp_avg_sq;  // Adam moments, per parameter
  std::vector<int64_t> adam_steps;
  torch::Tensor batch_order;  // current mini-batch permutation (undefined: full batch)
  int64_t batch_cursor = 0;
  torch::Tensor rng_state;  // CPU generator state
};

struct TrainHooks {
  int64_t checkpoint_every = 0;  // steps between on_checkpoint calls, 0 = never
  std::function<void(const TrainState&)> on_checkpoint;
  const TrainState* resume = nullptr;  // continue from here (weights already loaded)
};

// Trains in place on standardised tensors already on the model's device and
// dtype. Validation tensors may be undefined. With the mse loss, the output
// noise is afterwards set by moment matching on the validation residuals
// (training residuals when there is no validation set).
TrainResult train_regressor(Regressor& model, const torch::Tensor& x_train,
                            const torch::Tensor& y_train, const torch::Tensor& x_validation,
                            const torch::Tensor& y_validation, const TrainOptions& options,
                            const std::string& label = "train", const TrainHooks& hooks = {});

}  // namespace gsnn
