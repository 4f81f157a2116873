// Linear Gaussian aggregation: for independent inputs with moments (m, v),
// y = W x + b has mean W m + b and variance (W o W) v exactly.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "moments/moments.hpp"

namespace gsnn {

class GaussianLinearImpl : public torch::nn::Module {
 public:
  GaussianLinearImpl(int64_t inputs, int64_t outputs);
  Moments forward(const Moments& input);
  torch::nn::Linear linear{nullptr};  // weight [outputs, inputs], bias [outputs]
};
TORCH_MODULE(GaussianLinear);

}  // namespace gsnn
