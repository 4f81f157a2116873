// Length-scale control (seed 004, eq. 7): a linear layer whose weight matrix
// is rescaled at every forward pass to
//   w~ = w * sigma / (sqrt(N_in) * std(w)),
// std over the whole matrix (population std, so std(w~) = sigma / sqrt(N_in)
// exactly). Only the direction of w is learned; its spread is fixed, and
// sigma^-1 acts like a GP length scale: large sigma^-1 = small weights = a
// smooth function. Biases are left as they are (learned, not rescaled), as
// in the paper's eq. 7, which names the weights only.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/model.hpp"

namespace gsnn {

struct LengthscaleLinearOptions {
  LengthscaleLinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(double, sigma) = 1.0;  // the effective weight std times sqrt(in_features)
};

class LengthscaleLinearImpl : public torch::nn::Module {
 public:
  // At least two weights (in * out >= 2): one weight has no spread to rescale.
  explicit LengthscaleLinearImpl(LengthscaleLinearOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor effective_weight() const;  // w~, [out, in]

  LengthscaleLinearOptions options;
  torch::Tensor weight, bias;  // raw weight (PyTorch's default initialisation), bias
};
TORCH_MODULE(LengthscaleLinear);

// The paper's model: inputs -> width tanh units -> outputs, both layers
// length-scale normalised with sigma = 1 / inv_sigma.
struct LengthscaleNetOptions {
  int64_t inputs = 1;
  int64_t outputs = 1;
  int64_t width = 256;
  double inv_sigma = 1.0;
};

class LengthscaleNetImpl : public ModelImpl {
 public:
  explicit LengthscaleNetImpl(LengthscaleNetOptions options);
  Moments forward(const Moments& input) override;

 private:
  LengthscaleLinear hidden_{nullptr}, output_{nullptr};
};

}  // namespace gsnn
