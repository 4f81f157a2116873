#include "nn/lengthscale.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace gsnn {

LengthscaleLinearImpl::LengthscaleLinearImpl(LengthscaleLinearOptions o) : options(o) {
  if (o.in_features() < 1 || o.out_features() < 1 || o.in_features() * o.out_features() < 2)
    throw std::invalid_argument("lengthscale layer: needs at least two weights (in * out >= 2)");
  if (!(o.sigma() > 0) || !std::isfinite(o.sigma()))
    throw std::invalid_argument("lengthscale layer: sigma must be positive and finite");
  weight = register_parameter("weight", torch::empty({o.out_features(), o.in_features()}));
  bias = register_parameter("bias", torch::empty({o.out_features()}));
  // torch::nn::Linear's initialisation: the weights' scale does not matter
  // after rescaling, but it sets how fast Adam turns them.
  torch::NoGradGuard guard;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  const double bound = 1 / std::sqrt(double(o.in_features()));
  bias.uniform_(-bound, bound);
}

torch::Tensor LengthscaleLinearImpl::effective_weight() const {
  const double scale = options.sigma() / std::sqrt(double(options.in_features()));
  return weight * (scale / torch::std(weight, /*unbiased=*/false));
}

torch::Tensor LengthscaleLinearImpl::forward(const torch::Tensor& x) {
  return torch::nn::functional::linear(x, effective_weight(), bias);
}

LengthscaleNetImpl::LengthscaleNetImpl(LengthscaleNetOptions o) {
  if (!(o.inv_sigma > 0) || !std::isfinite(o.inv_sigma))
    throw std::invalid_argument("lengthscale-tanh: inv_sigma must be positive and finite");
  const double sigma = 1 / o.inv_sigma;
  hidden_ = register_module(
      "hidden", LengthscaleLinear(LengthscaleLinearOptions(o.inputs, o.width).sigma(sigma)));
  output_ = register_module(
      "output", LengthscaleLinear(LengthscaleLinearOptions(o.width, o.outputs).sigma(sigma)));
}

Moments LengthscaleNetImpl::forward(const Moments& input) {
  return {output_->forward(torch::tanh(hidden_->forward(input.mean.flatten(1)))), {}};
}

}  // namespace gsnn
