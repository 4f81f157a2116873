// Accuracy and calibration of a predictive Gaussian against targets.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "moments/moments.hpp"

namespace gsnn {

struct Metrics {
  double mse = 0;
  double rmse = 0;
  double max_error = 0;
  double nll = 0;         // mean Gaussian negative log-likelihood
  double mean_std = 0;    // mean predictive standard deviation
  double coverage95 = 0;  // fraction of targets inside mean +- 1.96 std
  nlohmann::json to_json() const;
};

// prediction and target in the same (raw) units, shapes [n, k].
Metrics evaluate_prediction(const Moments& prediction, const torch::Tensor& target);

}  // namespace gsnn
