// prepare_model, train_model, fit_model.
#include "train/fit.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace gsnn {

TrainedModel prepare_model(const Dataset& train, const FitRequest& request) {
  if (train.size() < 1) throw std::invalid_argument("fit: no training rows");
  if (request.dtype != "float32" && request.dtype != "float64")
    throw std::invalid_argument("fit: dtype must be float32 or float64");
  TrainedModel m;
  m.spec = request.model;
  m.inputs = train.input_names;
  m.targets = train.target_names;
  m.scaler = Standardizer::fit(train);
  torch::manual_seed(request.training.seed);
  m.regressor =
      Regressor(build_model(m.spec, train.x.size(1), train.y.size(1)), request.training.noise_init);
  m.regressor->to(torch::Device(request.device),
                  request.dtype == "float64" ? torch::kFloat64 : torch::kFloat32);
  return m;
}

TrainResult train_model(TrainedModel& m, const Dataset& train, const Dataset& validation,
                        const FitRequest& request, const std::string& label,
                        const TrainHooks& hooks) {
  const auto opts = m.regressor->parameters().front().options();
  auto prepare = [&](const Dataset& d, bool inputs) {
    if (d.size() == 0) return torch::Tensor();
    return (inputs ? m.scaler.inputs(d.x) : m.scaler.targets(d.y)).to(opts);
  };
  m.regressor->train();
  auto result = train_regressor(m.regressor, prepare(train, true), prepare(train, false),
                                prepare(validation, true), prepare(validation, false),
                                request.training, label, hooks);
  m.regressor->eval();
  m.training = {{"options", request.training.to_json()},
                {"dtype", request.dtype},
                {"train_rows", train.size()},
                {"validation_rows", validation.size()},
                {"steps_run", result.steps_run},
                {"best_step", result.best_step},
                {"stop_reason", result.stop_reason},
                {"seconds", result.seconds}};
  return result;
}

FitOutcome fit_model(const Dataset& train, const Dataset& validation, const FitRequest& request,
                     const std::string& label) {
  FitOutcome out{prepare_model(train, request), {}};
  out.result = train_model(out.model, train, validation, request, label);
  return out;
}

}  // namespace gsnn
