// AutoencoderImpl: strided conv encoder, transposed-conv decoder, optional
// attention and GMNM channel multipliers.
#include "nn/autoencoder.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace gsnn {

AutoencoderImpl::AutoencoderImpl(AutoencoderOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  check_sample_axes("autoencoder", o.input_shape, 3, "image inputs [channels, height, width]",
                    "fashion-reconstruction");
  const int64_t channels = o.input_shape[0], h = o.input_shape[1], w = o.input_shape[2];
  if (h % 4 != 0 || w % 4 != 0)
    throw std::invalid_argument(fmt::format(
        "autoencoder: image height and width must be multiples of 4, got {} x {}", h, w));
  if (o.outputs != channels * h * w)
    throw std::invalid_argument(fmt::format(
        "autoencoder: reconstructs its input, so it needs {} outputs (the image's pixels), not "
        "{} (e.g. the fashion-reconstruction task)",
        channels * h * w, o.outputs));
  if (o.channels < 1 || o.latent < 1 || o.components < 1 || o.rank < 1)
    throw std::invalid_argument("autoencoder: channels, latent, components and rank must be >= 1");
  if (o.gmnm && o.latent < 2)
    throw std::invalid_argument(
        "autoencoder: the GMNM branch needs latent >= 2 (it sees the latent vector standardised "
        "over its units, which is 0 for one unit)");
  if (o.gmnm && o.rank > o.latent)
    throw std::invalid_argument(
        fmt::format("autoencoder: the GMNM branch's rank must be at most latent ({}), got {}",
                    o.latent, o.rank));
  // The exact count (GMNM centres included: fixed, but allocated), checked
  // before anything is allocated.
  const double c = o.channels, map = 2.0 * c * (h / 4) * (w / 4);
  const double encoder = channels * c * 9 + c + 2 * c * c * 9 + 2 * c + map * o.latent + o.latent;
  const double decoder = o.latent * map + map + 2 * c * c * 16 + c + c * c * 16 + c;
  const double output = c * channels * 9 + channels;
  const double attention = o.attention ? 3 * (4 * c * c + 2 * c) : 0;
  const double branch = o.gmnm ? gmnm_size(o.latent, o.channels, o.components, o.rank) : 0;
  check_parameter_count("autoencoder", encoder + decoder + output + attention + branch);
  using torch::nn::Conv2dOptions, torch::nn::ConvTranspose2dOptions;
  encode1_ = register_module(
      "encode1", torch::nn::Conv2d(Conv2dOptions(channels, o.channels, 3).stride(2).padding(1)));
  encode2_ = register_module(
      "encode2",
      torch::nn::Conv2d(Conv2dOptions(o.channels, 2 * o.channels, 3).stride(2).padding(1)));
  if (o.attention) attention_ = register_module("attention", SpatialAttention(2 * o.channels));
  const auto flat = static_cast<int64_t>(map);
  to_latent_ = register_module("to_latent", torch::nn::Linear(flat, o.latent));
  from_latent_ = register_module("from_latent", torch::nn::Linear(o.latent, flat));
  decode1_ = register_module(
      "decode1", torch::nn::ConvTranspose2d(
                     ConvTranspose2dOptions(2 * o.channels, o.channels, 4).stride(2).padding(1)));
  decode2_ = register_module(
      "decode2", torch::nn::ConvTranspose2d(
                     ConvTranspose2dOptions(o.channels, o.channels, 4).stride(2).padding(1)));
  output_ = register_module("output",
                            torch::nn::Conv2d(Conv2dOptions(o.channels, channels, 3).padding(1)));
  // He initialisation of every layer before a ReLU (weights N(0, 2 / fan-in),
  // fan-in = the inputs one output sums; biases 0): with LibTorch's default
  // (about 3x smaller variance per layer) an image's own signal fades over the
  // seven layers, and training sits for hundreds of steps on the mean image.
  torch::NoGradGuard guard;
  auto he = [](torch::Tensor& weight, torch::Tensor& bias, double fan_in) {
    weight.normal_(0, std::sqrt(2 / fan_in));
    bias.zero_();
  };
  he(encode1_->weight, encode1_->bias, channels * 9.0);
  he(encode2_->weight, encode2_->bias, o.channels * 9.0);
  he(from_latent_->weight, from_latent_->bias, o.latent);
  // A stride-2 transposed 4x4 convolution sums 2 x 2 kernel taps per input channel.
  he(decode1_->weight, decode1_->bias, 2.0 * o.channels * 4);
  he(decode2_->weight, decode2_->bias, o.channels * 4.0);
  if (o.gmnm)
    gmnm_ = register_module("gmnm", Gmnm(GmnmOptions(o.latent, o.channels)
                                             .components(o.components)
                                             .rank(o.rank)
                                             .learn_centres(false)));
}

torch::Tensor AutoencoderImpl::encode(const torch::Tensor& images) {
  auto x = torch::relu(encode2_(torch::relu(encode1_(images))));
  if (attention_) x = attention_(x);
  return to_latent_(x.flatten(1));
}

Moments AutoencoderImpl::forward(const Moments& input) {
  const auto z = encode(input.mean);
  const auto& shape = options_.input_shape;
  auto maps = torch::relu(from_latent_(z))
                  .view({z.size(0), 2 * options_.channels, shape[1] / 4, shape[2] / 4});
  maps = torch::relu(decode2_(torch::relu(decode1_(maps))));
  if (gmnm_) maps = maps * gmnm_(standardise_rows(z)).unsqueeze(-1).unsqueeze(-1);
  return {output_(maps).flatten(1), {}};
}

void AutoencoderImpl::initialise(const torch::Tensor& x, const torch::Tensor&) {
  if (!gmnm_) return;
  torch::NoGradGuard guard;
  gmnm_->initialise(
      standardise_rows(encode(x.slice(0, 0, std::min(x.size(0), kGmnmInitialisationImages)))));
}

}  // namespace gsnn
