// Task kinds: regression, classification, and whatever register_task_kind
// adds (physics problems, sequences, ...). A kind says what a model outputs
// for its data, which objective trains it by default, and which metrics
// measure it; the trainer, the runner, the model files and the report take
// everything else from there.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "nn/model.hpp"

namespace gsnn {

struct TaskKind {
  std::string name;
  std::string summary;
  std::string default_objective;
  // Targets are standardised and the model learns an output noise
  // (regression); otherwise outputs are used as they are (logits).
  bool regression = true;
  // Names of the model's outputs for this data: target names, or class names.
  std::function<std::vector<std::string>(const Dataset&)> output_names;
  // Metrics of a prediction (targets' own units) on a data set: name -> value.
  std::function<nlohmann::json(const Prediction&, const Dataset&)> evaluate;
  // The outputs are class logits (predictions report class probabilities).
  bool class_logits = false;
  // Metrics of `evaluate` on the first evaluation set recorded at every
  // check during training (curve parts "test_<metric>").
  std::vector<std::string> tracked = {};
};

// Built in: "regression" (mse, nll, calibration, ...) and "classification"
// (class indices as targets; accuracy, cross-entropy).
const std::vector<TaskKind>& task_kinds();
void register_task_kind(TaskKind kind);                   // the name must be new
const TaskKind& find_task_kind(const std::string& name);  // throws std::invalid_argument

}  // namespace gsnn
