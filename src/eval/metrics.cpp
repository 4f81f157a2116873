// evaluate_prediction and measure_smoothness.
#include "eval/metrics.hpp"

#include "core/registry.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace gsnn {
namespace {

Registry<MetricInfo>& registry() {
  static Registry<MetricInfo> r{
      "metric",
      {
          {"mse", "MSE", Better::Lower, NAN, Shown::EverySet},
          {"rmse", "RMSE", Better::Lower, NAN, Shown::Never},
          {"relative_l2", "rel. L2", Better::Lower},
          {"max_error", "max err", Better::Lower},
          {"nll", "NLL", Better::Lower},
          {"mean_std", "mean std", Better::None, NAN, Shown::EverySet},
          {"coverage50", "50% cover", Better::Nominal, 0.5, Shown::Never},
          {"coverage90", "90% cover", Better::Nominal, 0.9, Shown::Never},
          {"coverage95", "95% cover", Better::Nominal, 0.95},
          {"calibration_error", "calib. err", Better::Lower},
          {"accuracy", "accuracy", Better::Higher, NAN, Shown::EverySet},
          {"cross_entropy", "cross-entropy", Better::Lower},
          // Against an evaluation set's analytic gradient (train/fit.cpp).
          {"gradient_rel_l2", "grad rel. L2", Better::Lower, NAN, Shown::EverySet},
          // A model's mean "gate" extra (hybrid: Gaussian share).
          {"gate", "gate", Better::None, NAN, Shown::EverySet},
      }};
  return r;
}

}  // namespace

const std::vector<MetricInfo>& metric_infos() { return registry().all(); }
void register_metric(MetricInfo info) { registry().add(std::move(info)); }
const MetricInfo* find_metric(const std::string& name) { return registry().find_or_null(name); }

namespace {
// mse, rmse, relative_l2 and max_error of a mean against the truth (float64).
Metrics evaluate_errors(const torch::Tensor& mean, const torch::Tensor& truth) {
  torch::NoGradGuard guard;
  const auto y = truth.to(torch::kFloat64).to(mean.device());
  const auto err = y - mean.to(torch::kFloat64);
  Metrics m;
  m.mse = err.pow(2).mean().item<double>();
  m.rmse = std::sqrt(m.mse);
  m.relative_l2 = (err.norm() / y.norm().clamp_min(1e-300)).item<double>();
  m.max_error = err.abs().max().item<double>();
  return m;
}
}  // namespace

nlohmann::json solution_metrics(const torch::Tensor& value, const torch::Tensor& truth) {
  const auto m = evaluate_errors(value, truth);
  return {{"mse", m.mse}, {"relative_l2", m.relative_l2}, {"max_error", m.max_error}};
}

nlohmann::json classification_metrics(const torch::Tensor& logits, const torch::Tensor& target) {
  torch::NoGradGuard guard;
  const auto classes = target.reshape({-1}).to(torch::kLong).to(logits.device());
  const auto l = logits.to(torch::kFloat64);
  const double accuracy = (l.argmax(1) == classes).to(torch::kFloat64).mean().item<double>();
  const double ce = torch::nn::functional::cross_entropy(l, classes).item<double>();
  return {{"accuracy", accuracy}, {"cross_entropy", ce}};
}

nlohmann::json Metrics::to_json() const {
  return {{"mse", mse},
          {"rmse", rmse},
          {"relative_l2", relative_l2},
          {"max_error", max_error},
          {"nll", nll},
          {"mean_std", mean_std},
          {"coverage50", coverage50},
          {"coverage90", coverage90},
          {"coverage95", coverage95},
          {"calibration_error", calibration_error},
          {"coverage_curve", coverage_curve}};
}

nlohmann::json Smoothness::to_json() const {
  return {{"second_difference", second_difference}, {"lipschitz", lipschitz}};
}

std::vector<double> calibration_levels() {
  std::vector<double> levels;
  for (int i = 1; i <= 19; ++i) levels.push_back(0.05 * i);
  return levels;
}

Metrics evaluate_prediction(const Moments& prediction, const torch::Tensor& target) {
  torch::NoGradGuard guard;
  const auto mean = prediction.mean.to(torch::kFloat64);
  const auto var = prediction.variance().to(torch::kFloat64).clamp_min(1e-300);
  const auto y = target.to(torch::kFloat64).to(mean.device());
  const auto err = y - mean;
  const auto std = var.sqrt();
  Metrics m = evaluate_errors(mean, y);
  m.nll = (0.5 * torch::log(2 * M_PI * var) + 0.5 * err.pow(2) / var).mean().item<double>();
  m.mean_std = std.mean().item<double>();
  // |err| / std <= z_p, z_p = Phi^{-1}((1 + p) / 2) = sqrt(2) erfinv(p)
  const auto z = (err.abs() / std).flatten();
  auto coverage = [&](double p) {
    const double zp =
        std::sqrt(2.0) * torch::erfinv(torch::tensor(p, torch::kFloat64)).item<double>();
    return (z <= zp).to(torch::kFloat64).mean().item<double>();
  };
  for (double p : calibration_levels()) {
    const double c = coverage(p);
    m.coverage_curve.push_back(c);
    m.calibration_error += std::abs(c - p) / 19.0;
  }
  m.coverage50 = coverage(0.5);
  m.coverage90 = coverage(0.9);
  m.coverage95 = coverage(0.95);
  return m;
}

torch::Tensor regular_grid(const std::vector<std::pair<double, double>>& box, int64_t points) {
  std::vector<torch::Tensor> axes;
  for (const auto& [lo, hi] : box) axes.push_back(torch::linspace(lo, hi, points, torch::kFloat64));
  auto mesh = torch::meshgrid(axes, "xy");
  std::vector<torch::Tensor> cols;
  for (auto& g : mesh) cols.push_back(g.flatten());
  return torch::stack(cols, 1);
}

Smoothness measure_smoothness(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                              const std::vector<std::pair<double, double>>& box) {
  const auto d = static_cast<int64_t>(box.size());
  if (d < 1) throw std::invalid_argument("measure_smoothness: empty box");
  // 1001 points in 1D, 101^2 in 2D, then at most 2e5 points in all; second
  // differences need 3 points per axis, which fit only up to d = 11.
  const int64_t points = d == 1 ? 1001
                         : d == 2
                             ? 101
                             : static_cast<int64_t>(std::pow(kMaxSmoothnessPoints, 1.0 / d) + 1e-9);
  if (points < 3) return {NAN, NAN};
  const auto grid = regular_grid(box, points);
  // values on the grid as a d-dimensional array (+ output axis)
  std::vector<int64_t> shape(d, points);
  auto values = f(grid).to(torch::kFloat64);
  const auto outputs = values.size(1);
  shape.push_back(outputs);
  // meshgrid "xy" puts axis 1 first in memory for d >= 2: reshape accordingly
  std::vector<int64_t> dims = shape;
  if (d >= 2) std::swap(dims[0], dims[1]);
  values = values.reshape(dims);
  Smoothness s;
  double second = 0;
  for (int64_t axis = 0; axis < d; ++axis) {
    const int64_t dim = d >= 2 && axis < 2 ? 1 - axis : axis;  // tensor dim of input axis
    const double h = (box[axis].second - box[axis].first) / (points - 1);
    if (h <= 0) continue;
    const auto n = values.size(dim);
    const auto a = values.narrow(dim, 0, n - 2), b = values.narrow(dim, 1, n - 2),
               c = values.narrow(dim, 2, n - 2);
    second += ((a - 2 * b + c) / (h * h)).pow(2).mean().item<double>() / d;
    const auto slope = (values.narrow(dim, 1, n - 1) - values.narrow(dim, 0, n - 1)).abs() / h;
    s.lipschitz = std::max(s.lipschitz, slope.max().item<double>());
  }
  s.second_difference = second;
  return s;
}

}  // namespace gsnn
