// The one pipeline from data to a trained, evaluated model, shared by
// `gsnn fit`, `gsnn run` and `gsnn demo`: build the model for the task's
// kind (scaling as buffers, data-dependent initialisation), train it with
// the requested objective (or let it fit itself), evaluate it on every set.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "data/dataset.hpp"
#include "io/model_file.hpp"
#include "tasks/task.hpp"
#include "train/trainer.hpp"

namespace gsnn {

struct FitRequest {
  ModelSpec model;
  TrainOptions training;
  std::string kind = "regression";  // task kind (tasks/kind.hpp)
  std::string dtype = "float32";    // float32 | float64
  std::string device = "cpu";       // any torch device string, e.g. "cuda:0"
};

struct FitOutcome {
  TrainedModel model;
  TrainResult result;
};

// A fresh model for `train`: scaling fitted on it, weights initialised with
// the training seed (under a process-wide lock on LibTorch's generator), on
// the requested device and dtype, then the family's data-dependent
// initialisation.
TrainedModel prepare_model(const Dataset& train, const FitRequest& request);

// Whether `request` can train a model of `shape` (model options, objective,
// training options against the model: check_training_options), without
// data or training. Throws std::invalid_argument.
void check_fit_request(const ModelShape& shape, const FitRequest& request);

// Trains `model` (fresh, or loaded from a checkpoint with hooks.resume) and
// records the training in model.training. validation may be empty.
TrainResult train_model(TrainedModel& model, const Dataset& train, const Dataset& validation,
                        const FitRequest& request, const std::string& label = "train",
                        const TrainHooks& hooks = {});

// prepare_model + train_model.
FitOutcome fit_model(const Dataset& train, const Dataset& validation, const FitRequest& request,
                     const std::string& label = "train");

// The kind's metrics of `model` on the training set and every evaluation set:
// {"train": {...}, "test": {...}, ...}.
nlohmann::json evaluate_model(const TrainedModel& model, const TaskData& data);

}  // namespace gsnn
