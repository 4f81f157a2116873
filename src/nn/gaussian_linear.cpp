// GaussianLinear: the affine map of the Moments algebra with a Linear's weights.
#include "nn/gaussian_linear.hpp"

namespace gsnn {

GaussianLinearImpl::GaussianLinearImpl(int64_t inputs, int64_t outputs) {
  linear = register_module("linear", torch::nn::Linear(inputs, outputs));
}

Moments GaussianLinearImpl::forward(const Moments& input) {
  return moments_affine(input, linear->weight, linear->bias);
}

}  // namespace gsnn
