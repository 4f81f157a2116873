// GaussianLinear: the mean goes through the affine map, the variance through
// the elementwise-squared weights.
#include "nn/gaussian_linear.hpp"

namespace gsnn {

GaussianLinearImpl::GaussianLinearImpl(int64_t inputs, int64_t outputs) {
  linear = register_module("linear", torch::nn::Linear(inputs, outputs));
}

Moments GaussianLinearImpl::forward(const Moments& input) {
  const auto& w = linear->weight;
  return {linear->forward(input.mean), torch::matmul(input.var, (w * w).t())};
}

}  // namespace gsnn
