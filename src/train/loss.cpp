// MSE and Gaussian negative log-likelihood.
#include "train/loss.hpp"

#include <cmath>
#include <stdexcept>

namespace gsnn {

Loss parse_loss(const std::string& name) {
  if (name == "mse") return Loss::Mse;
  if (name == "nll") return Loss::GaussianNll;
  throw std::invalid_argument("unknown loss '" + name + "' (known: mse, nll)");
}

torch::Tensor loss_value(Loss loss, const Moments& prediction, const torch::Tensor& target) {
  const auto err2 = (target - prediction.mean).pow(2);
  if (loss == Loss::Mse) return err2.mean();
  const auto var = prediction.var.clamp_min(kNllVarianceFloor);
  return (0.5 * torch::log(2.0 * M_PI * var) + 0.5 * err2 / var).mean();
}

}  // namespace gsnn
