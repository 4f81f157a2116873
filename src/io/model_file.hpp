// A trained model on disk: a directory holding
//   model.json            architecture (family + options), input/target
//                         names, scalers, dtype, format version, training info
//   weights.safetensors   every parameter and buffer, by module path
// Loading never executes anything from the file: the architecture is
// rebuilt through the registry and each tensor is checked for shape.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "nn/model.hpp"
#include "nn/registry.hpp"

namespace gsnn {

constexpr int kModelFormatVersion = 1;

struct TrainedModel {
  ModelSpec spec;
  Regressor regressor{nullptr};
  Standardizer scaler;
  std::vector<std::string> inputs;
  std::vector<std::string> targets;
  nlohmann::json training = nlohmann::json::object();  // free-form record of how it was trained

  // Predictive moments in the targets' own units for raw inputs [n, inputs].
  // raw_input_var (optional, same shape or broadcastable) is the inputs'
  // measurement-noise variance in their own units; models whose family
  // propagates variance carry it to the output, others reject it.
  Moments predict(const torch::Tensor& raw_inputs,
                  const torch::Tensor& raw_input_var = torch::Tensor()) const;
};

void save_model(const TrainedModel& model, const std::string& directory);
// Throws std::runtime_error naming the file and the problem.
TrainedModel load_model(const std::string& directory);

}  // namespace gsnn
