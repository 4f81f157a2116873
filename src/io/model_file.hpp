// A trained model on disk: a directory holding
//   model.json            format and version, task kind, family + options,
//                         input shape and names, outputs (targets or class
//                         names), dtype, training record, weights checksum
//   weights.safetensors   every parameter and buffer of the Network by
//                         module path, the data scaling included
// Loading never executes anything from the file: the architecture is
// rebuilt through the registry and each tensor is checked for shape, dtype
// and finiteness. Version-1 files (gsnn 0.1) still load.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "nn/model.hpp"
#include "nn/registry.hpp"

namespace gsnn {

constexpr int kModelFormatVersion = 2;

struct TrainedModel {
  ModelSpec spec;
  std::string kind = "regression";  // task kind (tasks/kind.hpp)
  Network network{nullptr};
  std::vector<std::string> inputs;   // input names (the columns of a table)
  std::vector<std::string> targets;  // target columns of the data
  std::vector<std::string> outputs;  // the model's outputs: target names, or class names
  nlohmann::json training = nlohmann::json::object();  // free-form record of how it was trained

  // The prediction in the targets' own units (class logits for
  // classification) for raw inputs [n, input_shape...]. raw_input_var
  // (optional, same shape or broadcastable) is the inputs' measurement-noise
  // variance in their own units; models whose family propagates variance
  // carry it to the output, others reject it.
  Prediction predict(const torch::Tensor& raw_inputs,
                     const torch::Tensor& raw_input_var = torch::Tensor()) const;
};

// Writes a complete new directory and swaps it in; refuses a model with
// non-finite tensors and a directory that holds other files.
void save_model(const TrainedModel& model, const std::string& directory);
// Throws std::runtime_error naming the file and the problem.
TrainedModel load_model(const std::string& directory);

}  // namespace gsnn
