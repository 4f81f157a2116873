// Training helpers shared by the tests: a regression Network around a
// registry model (identity scaling, so raw = standardised units), a call of
// the one trainer with the objective named by the options, and a quiet run
// of an experiment.
#pragma once

#include <string>

#include "experiment/runner.hpp"
#include "nn/registry.hpp"
#include "train/trainer.hpp"

namespace gsnn::test {

inline Network network(ModelPtr body, int64_t inputs = 1, int64_t outputs = 1) {
  return Network(std::move(body), ModelShape{{inputs}, outputs}, true, 0.1);
}

inline Network network(const std::string& model, uint64_t seed, int64_t width = 8) {
  torch::manual_seed(seed);
  return network(build_model(resolve_model(model, {{"width", width}}), 1, 1));
}

inline TrainResult train(Network& net, const torch::Tensor& x, const torch::Tensor& y,
                         const torch::Tensor& xv, const torch::Tensor& yv, const TrainOptions& o,
                         const std::string& label = "train", const TrainHooks& hooks = {}) {
  const auto objective = make_objective(o.loss, "regression", o.loss_options);
  return train_network(net, *objective, {x, y}, {xv, yv}, o, label, hooks);
}

// Parses an experiment document, points it at `output` and runs it quietly.
inline Experiment run_quietly(const nlohmann::json& doc, const std::string& output,
                              RunSummary* summary = nullptr) {
  auto e = parse_experiment(doc, "test", nullptr);
  e.output = output;
  RunOptions o;
  o.progress = false;
  const auto s = run_experiment(e, o);
  if (summary) *summary = s;
  return e;
}

}  // namespace gsnn::test
