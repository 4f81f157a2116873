// Self-attention over the positions of a feature map (seed 002 figure 4's
// attention block): the H*W positions of x [n, C, H, W] are tokens of
// dimension C; one head, scaled dot products, a residual connection:
//   t = tokens(x),  out = t + softmax(Q(t) K(t)^T / sqrt(C)) V(t).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace gsnn {

class SpatialAttentionImpl : public torch::nn::Module {
 public:
  explicit SpatialAttentionImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);  // [n, C, H, W] -> [n, C, H, W]
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
};
TORCH_MODULE(SpatialAttention);

}  // namespace gsnn
