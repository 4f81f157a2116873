// Seed 002 section 5.2 (figure 4, bottom): a convolutional autoencoder for
// images [channels, height, width] (height and width divisible by 4),
// optionally with a self-attention block and a GMNM branch:
//   encoder: conv 3x3 stride 2 (-> c) - relu - conv 3x3 stride 2 (-> 2c) - relu
//            [attention over the feature map's positions (nn/attention.hpp)]
//            flatten - linear (-> latent z)
//   decoder: linear (-> 2c x H/4 x W/4) - relu - transposed conv 4x4 stride 2
//            (-> c) - relu - transposed conv 4x4 stride 2 (-> c) - relu: maps F
//   GMNM branch: g = GMNM(z) [c], one multiplier per channel: F <- F * g, as
//            the paper applies it "channel-wise as a multiplicative factor to
//            the feature maps immediately before the final image
//            reconstruction layer". The GMNM sees z standardised over its units
//            (standardise_rows, nn/gmnm.hpp); its centres are fixed after a
//            k-means++ start on the latent vectors of training images.
//   output:  conv 3x3 (-> channels), flattened to [n, channels * H * W].
// Deterministic: regression noise comes from the Network. Trained on the
// fashion-reconstruction task (targets = the input's pixels).
#pragma once

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "nn/attention.hpp"
#include "nn/gmnm.hpp"
#include "nn/model.hpp"

namespace gsnn {

// The defaults here are the registry's defaults (nn/families.cpp reads them).
struct AutoencoderOptions {
  std::vector<int64_t> input_shape = {1, 28, 28};  // channels, height, width
  int64_t outputs = 784;                           // must be channels * height * width
  int64_t channels = 16;  // of the first convolution (the second has twice as many)
  int64_t latent = 32;    // size of the bottleneck vector z
  bool attention = false;
  bool gmnm = false;        // the GMNM branch of channel multipliers
  int64_t components = 16;  // GMNM branch: components m
  int64_t rank = 1;         // GMNM branch: projections per component
};

class AutoencoderImpl : public ModelImpl {
 public:
  explicit AutoencoderImpl(AutoencoderOptions options);
  Moments forward(const Moments& input) override;
  // The GMNM branch's centres: k-means++ on the standardised latent vectors
  // of (at most kGmnmInitialisationImages) training images.
  void initialise(const torch::Tensor& x, const torch::Tensor& y) override;
  torch::Tensor encode(const torch::Tensor& images);  // [n, latent]
  const AutoencoderOptions& options() const { return options_; }

 private:
  AutoencoderOptions options_;
  torch::nn::Conv2d encode1_{nullptr}, encode2_{nullptr}, output_{nullptr};
  SpatialAttention attention_{nullptr};
  torch::nn::Linear to_latent_{nullptr}, from_latent_{nullptr};
  torch::nn::ConvTranspose2d decode1_{nullptr}, decode2_{nullptr};
  Gmnm gmnm_{nullptr};
};
TORCH_MODULE(Autoencoder);

}  // namespace gsnn
