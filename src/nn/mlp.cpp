// MlpImpl: Linear/activation stack built from MlpOptions.
#include "nn/mlp.hpp"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <stdexcept>

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

Moments MlpImpl::forward(const Moments& input) {
  return {net_->forward(input.mean.flatten(1)), {}};  // deterministic: no variance
}

}  // namespace gsnn
