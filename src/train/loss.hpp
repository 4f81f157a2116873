// Training objectives on the predictive Gaussian N(mean, var).
#pragma once

#include <string>

#include "moments/moments.hpp"

namespace gsnn {

enum class Loss { Mse, GaussianNll };

Loss parse_loss(const std::string& name);  // "mse" | "nll"

// Floor under the predictive variance in the NLL (standardised units: a std of
// 1e-3 target standard deviations). Without it a model whose variance goes
// to 0 drives the loss to -infinity.
constexpr double kNllVarianceFloor = 1e-6;

// Mean over all elements. mse: (y - mean)^2. nll: 0.5 log(2 pi var) + (y - mean)^2 / (2 var),
// var floored at kNllVarianceFloor.
torch::Tensor loss_value(Loss loss, const Moments& prediction, const torch::Tensor& target);

}  // namespace gsnn
