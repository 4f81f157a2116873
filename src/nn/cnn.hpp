// Seed 002 section 5.1 (figure 4, top): a small convolutional image
// classifier, optionally with a self-attention block and a GMNM
// classification head, for images [channels, height, width]:
//   conv 3x3 (-> c) - relu - maxpool 2 - conv 3x3 (-> 2c) - relu - maxpool 2
//   [attention over the feature map's positions (nn/attention.hpp)]
//   flatten - linear (-> hidden) - relu
//   head: linear (hidden -> classes), or GMNM (hidden -> classes, centres
//   fixed after a k-means++ start on the hidden features of the training
//   images, as the paper fixes mu). The GMNM head sees each image's hidden
//   features standardised over its units (standardise_rows, nn/gmnm.hpp).
// Deterministic: the output is class logits, no variance.
#pragma once

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <string>

#include <vector>

#include "nn/attention.hpp"
#include "nn/gmnm.hpp"
#include "nn/model.hpp"

namespace gsnn {

// The defaults here are the registry's defaults (nn/families.cpp reads them).
struct CnnOptions {
  std::vector<int64_t> input_shape = {1, 28, 28};  // channels, height, width
  int64_t classes = 10;
  int64_t channels = 16;  // of the first convolution (the second has twice as many)
  int64_t hidden = 28;    // units of the dense layer before the head
  bool attention = false;
  std::string head = "linear";  // linear | gmnm
  int64_t components = 16;      // GMNM head: components m
  int64_t rank = 1;             // GMNM head: projections per component
};

class CnnImpl : public ModelImpl {
 public:
  explicit CnnImpl(CnnOptions options);
  Moments forward(const Moments& input) override;
  // The GMNM head's feature scaling and centres: from the hidden features of
  // (at most kGmnmInitialisationImages) training images.
  void initialise(const torch::Tensor& x, const torch::Tensor& y) override;
  torch::Tensor features(const torch::Tensor& images);  // [n, hidden], before the head
  const CnnOptions& options() const { return options_; }

 private:
  CnnOptions options_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  SpatialAttention attention_{nullptr};
  torch::nn::Linear dense_{nullptr}, linear_head_{nullptr};
  Gmnm gmnm_head_{nullptr};
};
TORCH_MODULE(Cnn);

// Side of a feature map after the two conv (3x3, valid) + pool (2) stages.
int64_t cnn_feature_side(int64_t side);

}  // namespace gsnn
