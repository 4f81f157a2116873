// MlpImpl: Linear/activation stack built from MlpOptions.
#include "nn/mlp.hpp"

#include <torch/nn/functional/linear.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <array>
#include <cmath>
#include <stdexcept>

#include "nn/forward_laplacian.hpp"

namespace gsnn {
namespace {
torch::nn::AnyModule make_activation(const std::string& name) {
  if (name == "relu") return torch::nn::AnyModule(torch::nn::ReLU());
  if (name == "tanh") return torch::nn::AnyModule(torch::nn::Tanh());
  if (name == "gelu") return torch::nn::AnyModule(torch::nn::GELU());
  if (name == "silu") return torch::nn::AnyModule(torch::nn::SiLU());
  throw std::invalid_argument("mlp: unknown activation '" + name +
                              "' (known: relu, tanh, gelu, silu)");
}
}  // namespace

MlpImpl::MlpImpl(MlpOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  if (o.inputs < 1 || o.outputs < 1 || o.depth < 1 || o.width < 1)
    throw std::invalid_argument("mlp: inputs, outputs, depth and width must be >= 1");
  check_parameter_budget("mlp", o.inputs, o.width, o.depth, o.outputs);
  torch::nn::Sequential net;
  for (int64_t l = 0; l < o.depth; ++l) {
    net->push_back(torch::nn::Linear(l == 0 ? o.inputs : o.width, o.width));
    net->push_back(make_activation(o.activation));
  }
  net->push_back(torch::nn::Linear(o.width, o.outputs));
  net_ = register_module("net", net);
}

std::array<torch::Tensor, 3> activation_and_derivatives(const std::string& name,
                                                        const torch::Tensor& a) {
  if (name == "tanh") {
    const auto t = torch::tanh(a), d1 = 1 - t.square();
    return {t, d1, -2 * t * d1};
  }
  if (name == "relu") return {torch::relu(a), (a > 0).to(a.dtype()), torch::zeros_like(a)};
  if (name == "silu") {
    const auto s = torch::sigmoid(a), ds = s * (1 - s);
    return {a * s, s + a * ds, ds * (2 + a * (1 - 2 * s))};
  }
  // gelu (exact): a Phi(a); sigma' = Phi + a phi, sigma'' = phi (2 - a^2)
  const auto phi = torch::exp(-0.5 * a.square()) / std::sqrt(2 * M_PI);
  const auto cdf = 0.5 * (1 + torch::erf(a / std::sqrt(2.0)));
  return {a * cdf, cdf + a * phi, phi * (2 - a.square())};
}

std::pair<torch::Tensor, torch::Tensor> MlpImpl::forward_laplacian(const torch::Tensor& z,
                                                                   const torch::Tensor& w) {
  auto [h, jac, lap] = LaplacianState::at_inputs(z);
  for (const auto& child : net_->children()) {
    if (const auto* linear = child->as<torch::nn::LinearImpl>()) {
      h = torch::nn::functional::linear(h, linear->weight, linear->bias);
      jac = jac.matmul(linear->weight.t());
      lap = lap.matmul(linear->weight.t());
      continue;
    }
    const auto out = activate_laplacian(options_.activation, {h, jac, lap}, w);
    h = out.h, jac = out.jac, lap = out.lap;
  }
  return {h, lap};
}

Moments MlpImpl::forward(const Moments& input) {
  return {net_->forward(input.mean.flatten(1)), {}};  // deterministic: no variance
}

}  // namespace gsnn
