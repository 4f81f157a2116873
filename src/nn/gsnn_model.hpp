// The Gaussian Smoothing Neural Network (seed 000): a stack of
// GaussianSmoothing layers (aggregation -> tau^2 injection -> smoothed
// activation), then a Gaussian linear read-out. Output moments are the
// network's mean and its propagated (epistemic-smoothing) variance.
#pragma once

#include <string>
#include <vector>

#include "nn/gaussian_linear.hpp"
#include "nn/gaussian_smoothing.hpp"
#include "nn/model.hpp"

namespace gsnn {

enum class TauSchedule { Constant, Geometric, Learned };

// The defaults here are the registry's defaults (nn/registry.cpp reads them).
struct GsnnOptions {
  int64_t inputs = 1;
  int64_t outputs = 1;
  int64_t depth = 2;   // hidden layers
  int64_t width = 32;  // units per hidden layer
  Activation activation = Activation::ErfTanh;
  double tau = 0.5;                                  // tau of the first hidden layer
  TauSchedule tau_schedule = TauSchedule::Constant;  // across depth
  double tau_ratio = 0.5;                            // geometric: tau_l = tau * ratio^l
  bool tau_per_unit = false;                         // one tau per unit instead of per layer
  bool residual = false;   // x_{l+1} = x_l + layer(x_l) where widths match
  bool mean_only = false;  // ablation: m = h(m), var passes through unchanged
};

TauSchedule parse_tau_schedule(const std::string& name);

class GsnnImpl : public ModelImpl {
 public:
  explicit GsnnImpl(GsnnOptions options);
  Moments forward(const Moments& input) override;
  // The output mean's forward Laplacian (deterministic inputs): the mean and
  // the variance each carry their Jacobian and Laplacian, since the next
  // layer's mean depends on both. The smoothed activations' first and second
  // partial derivatives come from autograd on the elementwise map alone.
  std::pair<torch::Tensor, torch::Tensor> forward_laplacian(const torch::Tensor& z,
                                                            const torch::Tensor& w) override;
  std::vector<ParameterGroup> parameter_groups() override;  // "weights", "tau"
  void check_weights() const override;                      // fixed tau^2 >= 0
  // tau_l^2 of hidden layer l, shape [1] or [width].
  torch::Tensor tau_squared(int64_t layer) const;
  const GsnnOptions& options() const { return options_; }

 private:
  GsnnOptions options_;
  std::vector<GaussianSmoothing> hidden_;
  GaussianLinear readout_{nullptr};
};
TORCH_MODULE(Gsnn);

}  // namespace gsnn
