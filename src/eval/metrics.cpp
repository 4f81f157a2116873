// evaluate_prediction.
#include "eval/metrics.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace gsnn {

nlohmann::json Metrics::to_json() const {
  return {{"mse", mse}, {"rmse", rmse},         {"max_error", max_error},
          {"nll", nll}, {"mean_std", mean_std}, {"coverage95", coverage95}};
}

Metrics evaluate_prediction(const Moments& prediction, const torch::Tensor& target) {
  torch::NoGradGuard guard;
  const auto mean = prediction.mean.to(torch::kFloat64);
  const auto var = prediction.var.to(torch::kFloat64).clamp_min(1e-300);
  const auto y = target.to(torch::kFloat64).to(mean.device());
  const auto err = y - mean;
  const auto std = var.sqrt();
  Metrics m;
  m.mse = err.pow(2).mean().item<double>();
  m.rmse = std::sqrt(m.mse);
  m.max_error = err.abs().max().item<double>();
  m.nll = (0.5 * torch::log(2 * M_PI * var) + 0.5 * err.pow(2) / var).mean().item<double>();
  m.mean_std = std.mean().item<double>();
  m.coverage95 = (err.abs() <= 1.959963984540054 * std).to(torch::kFloat64).mean().item<double>();
  return m;
}

}  // namespace gsnn
