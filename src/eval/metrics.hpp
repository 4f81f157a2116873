// The metric registry (what each metric is called and which direction is
// better), and the built-in measures: accuracy, calibration and smoothness
// of a predictive Gaussian, and classification accuracy.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "moments/moments.hpp"

namespace gsnn {

// How a report compares a metric across models.
enum class Better { Lower, Higher, Nominal, None };  // Nominal: closest to `nominal`

// Where a report shows a metric: for every evaluation set, the test set
// only, or nowhere (kept in the result files).
enum class Shown { EverySet, TestOnly, Never };

struct MetricInfo {
  std::string name;   // key in result files, e.g. "mse"
  std::string title;  // column title, e.g. "MSE"
  Better better = Better::None;
  double nominal = NAN;  // for Better::Nominal
  Shown shown = Shown::TestOnly;
};

// Built in: mse, rmse, relative_l2, max_error, nll, mean_std, coverage50/90/95,
// calibration_error, accuracy, cross_entropy, gradient_rel_l2, gate. Reports list metrics in
// this order.
const std::vector<MetricInfo>& metric_infos();
void register_metric(MetricInfo info);                   // the name must be new
const MetricInfo* find_metric(const std::string& name);  // nullptr if unknown

// Accuracy and mean cross-entropy (nats) of class logits [n, classes]
// against class indices [n, 1].
nlohmann::json classification_metrics(const torch::Tensor& logits, const torch::Tensor& target);

// mse, relative_l2 and max_error of values [n, k] against the truth [n, k]
// (a deterministic prediction, e.g. a PDE solution).
nlohmann::json solution_metrics(const torch::Tensor& value, const torch::Tensor& truth);

struct Metrics {
  double mse = 0;
  double rmse = 0;
  double relative_l2 = 0;  // ||y - mean||_2 / ||y||_2 over all values
  double max_error = 0;
  double nll = 0;                                         // mean Gaussian negative log-likelihood
  double mean_std = 0;                                    // mean predictive standard deviation
  double coverage50 = 0, coverage90 = 0, coverage95 = 0;  // fraction inside the central interval
  // mean |empirical - nominal| coverage of central intervals at 5%, 10%, ..., 95%
  double calibration_error = 0;
  std::vector<double> coverage_curve;  // empirical coverage at those 19 levels
  nlohmann::json to_json() const;
};

// Nominal levels of the coverage curve: 0.05, 0.10, ..., 0.95.
std::vector<double> calibration_levels();

// prediction and target in the same (raw) units, shapes [n, k].
Metrics evaluate_prediction(const Moments& prediction, const torch::Tensor& target);

struct Smoothness {
  double second_difference = 0;  // mean over grid and axes of ((f(x+h) - 2f(x) + f(x-h)) / h^2)^2
  double lipschitz = 0;          // max |f(a) - f(b)| / |a - b| over neighbouring grid points
  nlohmann::json to_json() const;
};

constexpr double kMaxSmoothnessPoints = 2e5;

// Smoothness of the mean function `f` ([n, d] -> [n, k]) on a regular grid over
// `box` (per input: lo, hi): 1001 points in 1D, 101^2 in 2D, then
// floor(2e5^(1/d)) per axis, so never more than 2e5 points. For d > 11 fewer
// than 3 points per axis would fit: both measures are then NaN (not measured).
Smoothness measure_smoothness(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                              const std::vector<std::pair<double, double>>& box);

// The regular grid used above: [prod(points), d], in torch::meshgrid "xy" order.
torch::Tensor regular_grid(const std::vector<std::pair<double, double>>& box, int64_t points);

}  // namespace gsnn
