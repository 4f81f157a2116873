// Radial basis function network (Broomhead & Lowe 1988): m Gaussian units
//   f_j(x) = exp(-|x - c_j|^2 / (2 s_j^2)),   y = sum_j w_j f_j(x) + b,
// with learnable centres c_j and widths s_j = exp(log_width_j). initialise()
// places the centres like GMNM's (nn/centres.hpp) and starts each width at
// the distance to the nearest other centre. Trainable: m (d + 1 + outputs)
// + outputs. Isotropic units: what distinguishes it from GMNM is the absence
// of the learned projection A_j.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/centres.hpp"

namespace gsnn {

struct RbfOptions {
  RbfOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(int64_t, units) = 64;
  TORCH_ARG(CentreInit, centre_init) = CentreInit::KMeansPlusPlus;
};

class RbfImpl : public torch::nn::Module {
 public:
  explicit RbfImpl(RbfOptions options);
  torch::Tensor forward(const torch::Tensor& x);  // [batch, in] -> [batch, out]
  void initialise(const torch::Tensor& x);

  RbfOptions options;
  torch::Tensor centres, log_width, weight, bias;

 private:
  void reset_widths();  // each width = distance to the nearest other centre
};
TORCH_MODULE(Rbf);

}  // namespace gsnn
