// The one trainer: any Objective on any Network. Optimisers and schedules
// come from registries (train/optimizers.hpp); parameter groups come from
// the model, each with its own learning-rate multiplier and an optional
// freeze for the first steps; full batch or mini-batch; validation with
// early stopping; gradient clipping; checkpoints with bit-identical resume.
// A non-finite loss (or non-finite weights at a check) stops training and
// restores the kept snapshot, parameters and buffers: the weights of the
// best validation check, or of the last check without validation data.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nn/model.hpp"
#include "nn/registry.hpp"
#include "train/objective.hpp"

namespace gsnn {

// The defaults here are the option table's defaults (TrainOptions::specs).
struct TrainOptions {
  std::string optimizer = "adam";      // see optimizers()
  double lr = 1e-2;                    // initial learning rate
  std::string lr_schedule = "cosine";  // see schedules()
  double lr_final_ratio = 0.01;        // final lr = lr * ratio (cosine, exponential)
  double weight_decay = 0.0;           // adam: L2; adamw: decoupled
  int64_t steps = 2000;                // optimiser steps (L-BFGS: iterations)
  int64_t lbfgs_steps = 0;             // then L-BFGS iterations (train/fit.cpp), 0 = none
  int64_t batch_size = 0;              // 0 = full batch
  std::string loss = "mse";            // objective, see objectives()
  double clip_norm = 0.0;              // max gradient norm, 0 = off
  int64_t eval_every = 50;             // steps between validation checks and curve points
  int64_t patience = 0;     // early stop after this many checks without improvement, 0 = off
  double noise_init = 0.1;  // initial output noise std (standardised units)
  std::string scaling = "standard";  // standard | targets | none (train/fit.cpp)
  uint64_t seed = 0;
  std::map<std::string, double> group_lr;      // lr multiplier per parameter group, e.g. {tau: 0.1}
  std::map<std::string, double> freeze;        // group -> steps it stays frozen at the start
  std::map<std::string, double> loss_options;  // the objective's options, e.g. {delta: 0.1}
  // Weight per model penalty (ModelImpl::penalty_names), e.g. {gate_entropy: 0.1},
  // decaying linearly to 0 over penalty_steps (0 = constant).
  std::map<std::string, double> penalty;
  int64_t penalty_steps = 0;
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
  std::vector<std::pair<std::string, double>> parts;  // the objective's parts on the train set
};

// Time spent in one optimiser's steps (checks and evaluations excluded).
struct TrainPhase {
  std::string optimizer;
  int64_t steps = 0;
  double step_seconds = 0;
};

struct TrainResult {
  int64_t steps_run = 0;
  int64_t best_step = 0;  // weights kept are from this step
  double best_validation = 0;
  std::string
      stop_reason;  // "completed", "early stop", "converged ...", or a non-finite-loss message
  bool diverged = false;
  std::vector<CurvePoint> curve;
  double seconds = 0;
  std::vector<TrainPhase> phases;
};

// Everything besides the model's weights that training needs to continue
// exactly where it stopped (optimisers with save_state; lbfgs restarts).
struct TrainState {
  int64_t step = 0;  // steps done
  std::vector<CurvePoint> curve;
  double best_validation = 0;
  int64_t best_step = 0;
  int64_t checks_without_improvement = 0;
  double seconds = 0;
  std::vector<torch::Tensor> kept;  // the snapshot that will be kept (parameters, then buffers)
  std::vector<torch::Tensor> exp_avg, exp_avg_sq;  // Adam moments, per parameter
  std::vector<int64_t> adam_steps;
  torch::Tensor batch_order;  // current mini-batch permutation (undefined: full batch)
  int64_t batch_cursor = 0;
  torch::Tensor rng_state;  // the training generator's state
};

struct TrainHooks {
  int64_t checkpoint_every = 0;  // steps between on_checkpoint calls, 0 = never
  std::function<void(const TrainState&)> on_checkpoint;
  std::function<void(const CurvePoint&)> on_check;  // after every check (callbacks)
  // Extra values recorded at every check into the curve point's parts
  // (e.g. the error on a test grid while a PDE solver trains).
  std::function<std::vector<std::pair<std::string, double>>()> track;
  const TrainState* resume = nullptr;  // continue from here (weights already loaded)
  // A new training batch for each step (raw units, any device: moved to the
  // training data's), used instead of the training data or its mini-batches.
  std::function<Batch(int64_t step)> fresh_batch;
};

// Checks that the options fit the model before any training: penalties it
// offers, parameter groups named by freeze and group_lr, what the objective
// reads from its predictions (Objective::needed_extras), the optimiser's
// limits; a model fitted directly takes none of these. Throws
// std::invalid_argument. train_network and train_model call it; the runner
// calls it (check_fit_request) for every model of a task before its first run.
void check_training_options(const TrainOptions& options, Network& model,
                            const Objective& objective);

// Trains `model` in place on raw data already on the model's device
// (validation may be empty). Runs objective.finish() on the validation data
// (the training data without validation) at the end.
TrainResult train_network(Network& model, const Objective& objective, const Batch& train,
                          const Batch& validation, const TrainOptions& options,
                          const std::string& label = "train", const TrainHooks& hooks = {});

}  // namespace gsnn
