// GaussianSmoothingImpl: aggregation, tau^2 injection, smoothed activation.
#include "nn/gaussian_smoothing.hpp"

#include <cmath>
#include <stdexcept>

namespace gsnn {

GaussianSmoothingImpl::GaussianSmoothingImpl(GaussianSmoothingOptions o) : options(o) {
  if (o.in_features() < 1 || o.out_features() < 1)
    throw std::invalid_argument("gaussian smoothing layer: feature counts must be >= 1");
  if (!(o.tau() >= 0) || !std::isfinite(o.tau()))
    throw std::invalid_argument("gaussian smoothing layer: tau must be finite and >= 0");
  if (o.learn_tau() && !(o.tau() > 0))
    throw std::invalid_argument("gaussian smoothing layer: a learned tau needs an initial tau > 0");
  linear = register_module("linear", torch::nn::Linear(o.in_features(), o.out_features()));
  const auto taus = torch::full({o.tau_per_unit() ? o.out_features() : 1}, o.tau());
  if (o.learn_tau())  // inverse softplus, so that softplus(tau_rho) starts at tau
    tau_ = register_parameter(
        "tau_rho", torch::where(taus > 20, taus, torch::log(torch::expm1(taus.clamp_max(20)))));
  else
    tau_ = register_buffer("tau_squared", taus * taus);
}

torch::Tensor GaussianSmoothingImpl::tau_squared() const {
  if (!options.learn_tau()) return tau_;
  const auto tau = torch::softplus(tau_);
  return tau * tau;
}

Moments GaussianSmoothingImpl::forward(const Moments& input) {
  auto pre = moments_affine(input, linear->weight, linear->bias);
  pre = moments_add_variance(pre, tau_squared().to(pre.mean.dtype()));
  if (options.mean_only()) return {activate(options.activation(), pre.mean), pre.var};
  return smoothed_moments(options.activation(), pre.mean, pre.var);
}

}  // namespace gsnn
