// count_parameters and the Regressor's output-noise head.
#include "nn/model.hpp"

#include <cmath>
#include <stdexcept>

namespace gsnn {
namespace {
double inverse_softplus(double y) { return y > 30 ? y : std::log(std::expm1(y)); }
}  // namespace

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters())
    if (p.requires_grad()) total += p.numel();
  return total;
}

RegressorImpl::RegressorImpl(ModelPtr body, double initial_noise_std) : body_(std::move(body)) {
  if (!(initial_noise_std > 0)) throw std::invalid_argument("initial noise std must be > 0");
  register_module("body", body_);
  noise_rho_ =
      register_parameter("noise_rho", torch::full({1}, inverse_softplus(initial_noise_std)));
}

Moments RegressorImpl::forward(const Moments& input) {
  auto out = body_->forward(input);
  const auto noise = noise_std().to(out.var.dtype());
  return {out.mean, out.var + noise * noise};
}

Moments RegressorImpl::forward(const torch::Tensor& input_mean) {
  return forward(Moments{input_mean, torch::zeros_like(input_mean)});
}

torch::Tensor RegressorImpl::noise_std() const { return torch::softplus(noise_rho_); }

void RegressorImpl::set_noise_std(double value) {
  torch::NoGradGuard guard;
  noise_rho_.fill_(inverse_softplus(std::max(value, 1e-8)));
}

}  // namespace gsnn
