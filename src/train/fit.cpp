// fit_model.
#include "train/fit.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace gsnn {

FitOutcome fit_model(const Dataset& train, const Dataset& validation, const FitRequest& request,
                     const std::string& label) {
  if (train.size() < 1) throw std::invalid_argument("fit: no training rows");
  if (request.dtype != "float32" && request.dtype != "float64")
    throw std::invalid_argument("fit: dtype must be float32 or float64");
  const auto dtype = request.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  const torch::Device device(request.device);
  const auto opts = torch::TensorOptions().dtype(dtype).device(device);

  TrainedModel m;
  m.spec = request.model;
  m.inputs = train.input_names;
  m.targets = train.target_names;
  m.scaler = Standardizer::fit(train);
  torch::manual_seed(request.training.seed);
  m.regressor =
      Regressor(build_model(m.spec, train.x.size(1), train.y.size(1)), request.training.noise_init);
  m.regressor->to(device, dtype);

  auto prepare = [&](const Dataset& d, bool inputs) {
    if (d.size() == 0) return torch::Tensor();
    return (inputs ? m.scaler.inputs(d.x) : m.scaler.targets(d.y)).to(opts);
  };
  FitOutcome out{m, {}};
  out.result = train_regressor(out.model.regressor, prepare(train, true), prepare(train, false),
                               prepare(validation, true), prepare(validation, false),
                               request.training, label);
  out.model.regressor->eval();
  out.model.training = {{"options", request.training.to_json()},
                        {"dtype", request.dtype},
                        {"train_rows", train.size()},
                        {"validation_rows", validation.size()},
                        {"steps_run", out.result.steps_run},
                        {"best_step", out.result.best_step},
                        {"stop_reason", out.result.stop_reason},
                        {"seconds", out.result.seconds}};
  return out;
}

}  // namespace gsnn
