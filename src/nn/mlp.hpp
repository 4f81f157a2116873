// The baseline multilayer perceptron (relu, tanh, gelu or silu), with the
// gsnn model interface: the mean goes through the network (inputs of any
// shape are flattened), the output is deterministic (no variance).
#pragma once

#include <torch/nn/modules/container/sequential.h>

#include <array>
#include <string>

#include "nn/model.hpp"

namespace gsnn {

// The defaults here are the registry's defaults (nn/registry.cpp reads them).
struct MlpOptions {
  int64_t inputs = 1;
  int64_t outputs = 1;
  int64_t depth = 2;  // hidden layers
  int64_t width = 32;
  std::string activation = "relu";  // relu | tanh | gelu | silu
};

// sigma(a), sigma'(a) and sigma''(a) of an MLP activation (relu, tanh, gelu, silu),
// for forward Laplacians.
std::array<torch::Tensor, 3> activation_and_derivatives(const std::string& name,
                                                        const torch::Tensor& a);

class MlpImpl : public ModelImpl {
 public:
  explicit MlpImpl(MlpOptions options);
  Moments forward(const Moments& input) override;
  // Value, input Jacobian and weighted Laplacian carried layer by layer.
  std::pair<torch::Tensor, torch::Tensor> forward_laplacian(const torch::Tensor& z,
                                                            const torch::Tensor& w) override;
  const MlpOptions& options() const { return options_; }

 private:
  MlpOptions options_;
  torch::nn::Sequential net_{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace gsnn
