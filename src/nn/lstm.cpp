// LstmImpl: LSTM over the steps, linear or GMNM head on the last hidden state.
#include "nn/lstm.hpp"

#include <torch/torch.h>

#include <stdexcept>

namespace gsnn {

LstmImpl::LstmImpl(LstmOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  check_sample_axes("lstm", o.input_shape, 2, "sequence inputs [steps, features]", "four-signals");
  if (o.hidden < 1 || o.outputs < 1 || o.components < 1 || o.rank < 0)
    throw std::invalid_argument("lstm: hidden, components must be >= 1 and rank >= 0");
  const bool gmnm = check_gmnm_head("lstm", o.head, o.rank, o.hidden);
  const double d = o.hidden, f = o.input_shape[1];
  const double lstm = 4 * d * (f + d) + 8 * d;  // LibTorch keeps two bias vectors
  const double head =
      gmnm ? gmnm_size(o.hidden, o.outputs, o.components, o.rank > 0 ? o.rank : o.hidden)
           : d * o.outputs + o.outputs;
  check_parameter_count("lstm", lstm + head);
  lstm_ = register_module(
      "lstm",
      torch::nn::LSTM(torch::nn::LSTMOptions(o.input_shape[1], o.hidden).batch_first(true)));
  if (gmnm)
    gmnm_head_ = register_module(
        "head", Gmnm(GmnmOptions(o.hidden, o.outputs).components(o.components).rank(o.rank)));
  else
    linear_head_ = register_module("head", torch::nn::Linear(o.hidden, o.outputs));
}

torch::Tensor LstmImpl::last_hidden(const torch::Tensor& sequences) {
  const auto out = std::get<0>(lstm_(sequences));  // [n, steps, hidden]
  return out.select(1, out.size(1) - 1);
}

Moments LstmImpl::forward(const Moments& input) {
  const auto h = last_hidden(input.mean);
  return {linear_head_ ? linear_head_(h) : gmnm_head_(h), {}};
}

void LstmImpl::initialise(const torch::Tensor& x, const torch::Tensor&) {
  if (!gmnm_head_) return;
  torch::NoGradGuard guard;
  gmnm_head_->initialise(last_hidden(x.slice(0, 0, std::min(x.size(0), kInitialisationSequences))));
}

}  // namespace gsnn
