// One Gaussian-smoothing layer, the building block of the Gaussian path:
//   aggregation   (m, v) -> (W m + b, (W o W) v)
//   injection     v += tau^2   (tau per layer or per unit, fixed or learned)
//   activation    (E[h(Z)], Var[h(Z)]) for Z ~ N(m, v), in closed form
// GSNN stacks these; hybrid and mixture models reuse it as a layer.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "moments/moments.hpp"

namespace gsnn {

struct GaussianSmoothingOptions {
  GaussianSmoothingOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(Activation, activation) = Activation::ErfTanh;
  TORCH_ARG(double, tau) = 0.5;           // initial smoothing std (>= 0; > 0 if learned)
  TORCH_ARG(bool, learn_tau) = false;     // tau = softplus(tau_rho), trained
  TORCH_ARG(bool, tau_per_unit) = false;  // one tau per output unit instead of one
  TORCH_ARG(bool, mean_only) = false;     // ablation: m = h(m), v passes through unchanged
};

class GaussianSmoothingImpl : public torch::nn::Module {
 public:
  explicit GaussianSmoothingImpl(GaussianSmoothingOptions options);
  Moments forward(const Moments& input);
  torch::Tensor tau_squared() const;  // [1] or [out_features]
  bool learns_tau() const { return options.learn_tau(); }

  GaussianSmoothingOptions options;
  torch::nn::Linear linear{nullptr};

 private:
  torch::Tensor tau_;  // learned: parameter "tau_rho"; fixed: buffer "tau_squared"
};
TORCH_MODULE(GaussianSmoothing);

}  // namespace gsnn
