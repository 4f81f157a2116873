// CnnImpl: conv stack, optional attention, linear or GMNM head.
#include "nn/cnn.hpp"

#include <torch/torch.h>

#include <stdexcept>

namespace gsnn {

int64_t cnn_feature_side(int64_t side) { return ((side - 2) / 2 - 2) / 2; }

CnnImpl::CnnImpl(CnnOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  check_sample_axes("cnn", o.input_shape, 3, "image inputs [channels, height, width]",
                    "fashion-mnist");
  const int64_t h = cnn_feature_side(o.input_shape[1]), w = cnn_feature_side(o.input_shape[2]);
  if (h < 1 || w < 1) throw std::invalid_argument("cnn: images must be at least 10 x 10 pixels");
  if (o.channels < 1 || o.hidden < 1 || o.classes < 1 || o.components < 1 || o.rank < 1)
    throw std::invalid_argument("cnn: channels, hidden, components and rank must be >= 1");
  const bool gmnm = check_gmnm_head("cnn", o.head, o.rank, o.hidden);
  // The exact count (GMNM centres included: fixed, but allocated).
  const double c = o.channels, flat = 2.0 * c * h * w;
  const double convs = o.input_shape[0] * c * 9 + c + 2 * c * c * 9 + 2 * c;
  const double attention = o.attention ? 3 * (4 * c * c + 2 * c) : 0;
  const double head = gmnm ? gmnm_size(o.hidden, o.classes, o.components, o.rank)
                           : double(o.hidden) * o.classes + o.classes;
  check_parameter_count("cnn", convs + attention + flat * o.hidden + o.hidden + head);
  conv1_ = register_module(
      "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.input_shape[0], o.channels, 3)));
  conv2_ = register_module(
      "conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.channels, 2 * o.channels, 3)));
  if (o.attention) attention_ = register_module("attention", SpatialAttention(2 * o.channels));
  dense_ = register_module("dense", torch::nn::Linear(static_cast<int64_t>(flat), o.hidden));
  if (o.head == "linear")
    linear_head_ = register_module("head", torch::nn::Linear(o.hidden, o.classes));
  else {
    gmnm_head_ = register_module("head", Gmnm(GmnmOptions(o.hidden, o.classes)
                                                  .components(o.components)
                                                  .rank(o.rank)
                                                  .learn_centres(false)));
  }
}

torch::Tensor CnnImpl::features(const torch::Tensor& images) {
  auto x = torch::max_pool2d(torch::relu(conv1_(images)), 2);
  x = torch::max_pool2d(torch::relu(conv2_(x)), 2);
  if (attention_) x = attention_(x);
  return torch::relu(dense_(x.flatten(1)));
}

Moments CnnImpl::forward(const Moments& input) {
  const auto h = features(input.mean);
  if (linear_head_) return {linear_head_(h), {}};
  return {gmnm_head_(standardise_rows(h)), {}};
}

void CnnImpl::initialise(const torch::Tensor& x, const torch::Tensor&) {
  if (!gmnm_head_) return;
  torch::NoGradGuard guard;
  gmnm_head_->initialise(
      standardise_rows(features(x.slice(0, 0, std::min(x.size(0), kGmnmInitialisationImages)))));
}

}  // namespace gsnn
