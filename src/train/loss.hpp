// Training objectives on the predictive Gaussian N(mean, var).
#pragma once

#include <string>

#include "moments/moments.hpp"

namespace gsnn {

enum class Loss { Mse, GaussianNll };

Loss parse_loss(const std::string& name);  // "mse" | "nll"
std::string loss_name(Loss loss);

// Mean over all elements. mse: (y - mean)^2. nll: 0.5 log(2 pi var) + (y - mean)^2 / (2 var).
torch::Tensor loss_value(Loss loss, const Moments& prediction, const torch::Tensor& target);

}  // namespace gsnn
