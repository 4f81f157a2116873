// RbfImpl.
#include "nn/rbf.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace gsnn {

RbfImpl::RbfImpl(RbfOptions o) : options(std::move(o)) {
  const int64_t d = options.in_features(), m = options.units(), out = options.out_features();
  if (d < 1 || m < 1 || out < 1)
    throw std::invalid_argument("rbf: inputs, outputs and units must be >= 1");
  torch::NoGradGuard guard;
  centres = register_parameter("centres", torch::rand({m, d}) * 2 - 1);
  log_width = register_parameter("log_width", torch::empty({m}));
  reset_widths();
  const double bound = 1 / std::sqrt(double(m));
  weight = register_parameter("weight", torch::empty({m, out}).uniform_(-bound, bound));
  bias = register_parameter("bias", torch::zeros({out}));
}

void RbfImpl::initialise(const torch::Tensor& x) {
  torch::NoGradGuard guard;
  centres.copy_(choose_centres(x.flatten(1), options.units(), options.centre_init()));
  reset_widths();
}

void RbfImpl::reset_widths() {
  torch::NoGradGuard guard;
  log_width.copy_(torch::log(nearest_centre_distance(centres).clamp_min(1e-3)));
}

torch::Tensor RbfImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 2 || x.size(1) != options.in_features())
    throw std::invalid_argument("rbf: expected input [batch, " +
                                std::to_string(options.in_features()) + "]");
  // Differences, not |x|^2 - 2 x.c + |c|^2: exact near the centres, where
  // the second derivatives of a PDE residual are taken.
  const auto d2 = (x.unsqueeze(1) - centres.unsqueeze(0)).square().sum(-1);  // [batch, m]
  const auto f = torch::exp(-0.5 * d2 * torch::exp(-2 * log_width));
  return torch::addmm(bias, f, weight);
}

}  // namespace gsnn
