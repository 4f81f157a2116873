// SpatialAttentionImpl: one-head self-attention over feature-map positions.
#include "nn/attention.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace gsnn {

SpatialAttentionImpl::SpatialAttentionImpl(int64_t channels) {
  if (channels < 1) throw std::invalid_argument("attention: channels must be >= 1");
  query = register_module("query", torch::nn::Linear(channels, channels));
  key = register_module("key", torch::nn::Linear(channels, channels));
  value = register_module("value", torch::nn::Linear(channels, channels));
}

torch::Tensor SpatialAttentionImpl::forward(const torch::Tensor& x) {
  const auto t = x.flatten(2).transpose(1, 2);  // [n, HW, C]
  const auto scores =
      torch::matmul(query(t), key(t).transpose(1, 2)) / std::sqrt(static_cast<double>(x.size(1)));
  const auto out = t + torch::matmul(torch::softmax(scores, -1), value(t));
  return out.transpose(1, 2).reshape(x.sizes());
}

}  // namespace gsnn
