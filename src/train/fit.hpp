// From data to a trained, standardised model: fit the scaler, build the
// model through the registry, train, and record how.
#pragma once

#include <string>

#include "data/dataset.hpp"
#include "io/model_file.hpp"
#include "train/trainer.hpp"

namespace gsnn {

struct FitRequest {
  ModelSpec model;
  TrainOptions training;
  std::string dtype = "float32";  // float32 | float64
  std::string device = "cpu";     // any torch device string, e.g. "cuda:0"
};

struct FitOutcome {
  TrainedModel model;
  TrainResult result;
};

// A fresh model for `train`: scaler fitted on it, weights initialised with
// the training seed, on the requested device and dtype.
TrainedModel prepare_model(const Dataset& train, const FitRequest& request);

// Trains `model` (fresh, or loaded from a checkpoint with hooks.resume) and
// records the training in model.training. validation may be empty.
TrainResult train_model(TrainedModel& model, const Dataset& train, const Dataset& validation,
                        const FitRequest& request, const std::string& label = "train",
                        const TrainHooks& hooks = {});

// prepare_model + train_model.
FitOutcome fit_model(const Dataset& train, const Dataset& validation, const FitRequest& request,
                     const std::string& label = "train");

}  // namespace gsnn
