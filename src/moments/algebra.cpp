// The algebra of independent (mean, var) pairs; an undefined var is zero.
#include <torch/torch.h>

#include "moments/moments.hpp"

namespace gsnn {

torch::Tensor Moments::variance() const { return var.defined() ? var : torch::zeros_like(mean); }

Moments moments_sum(const Moments& a, const Moments& b) {
  torch::Tensor var;
  if (a.var.defined() && b.var.defined())
    var = a.var + b.var;
  else
    var = a.var.defined() ? a.var : b.var;
  return {a.mean + b.mean, var};
}

Moments moments_scale(const Moments& a, const torch::Tensor& c) {
  return {a.mean * c, a.var.defined() ? a.var * (c * c) : torch::Tensor()};
}

Moments moments_affine(const Moments& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  auto mean = torch::matmul(x.mean, weight.t());
  if (bias.defined()) mean = mean + bias;
  if (!x.var.defined()) return {mean, {}};
  return {mean, torch::matmul(x.var, (weight * weight).t())};
}

Moments moments_product(const Moments& a, const Moments& b) {
  const auto mean = a.mean * b.mean;
  if (a.deterministic() && b.deterministic()) return {mean, {}};
  if (a.deterministic()) return {mean, b.var * a.mean * a.mean};
  if (b.deterministic()) return {mean, a.var * b.mean * b.mean};
  return {mean, a.var * b.var + a.var * b.mean * b.mean + b.var * a.mean * a.mean};
}

Moments moments_add_variance(const Moments& a, const torch::Tensor& v) {
  return {a.mean, a.var.defined() ? a.var + v : v.expand_as(a.mean)};
}

}  // namespace gsnn
