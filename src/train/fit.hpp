// One call from data to a trained, standardised model: fit the scaler,
// build the model through the registry, train, and record how.
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

// validation may be empty (size 0).
FitOutcome fit_model(const Dataset& train, const Dataset& validation, const FitRequest& request,
                     const std::string& label = "train");

}  // namespace gsnn
