#include "nn/symmetrised.hpp"

#include <torch/torch.h>

#include <stdexcept>

namespace gsnn {
namespace {

// x [n, ...] with its first two (flattened) features exchanged, in x's shape.
torch::Tensor swap_first_two(const torch::Tensor& x) {
  auto flat = x.flatten(1).clone();
  flat.select(1, 0).copy_(x.flatten(1).select(1, 1));
  flat.select(1, 1).copy_(x.flatten(1).select(1, 0));
  return flat.view(x.sizes());
}

}  // namespace

SymmetrisedImpl::SymmetrisedImpl(ModelPtr base) : base_(register_module("base", std::move(base))) {}

Moments SymmetrisedImpl::forward(const Moments& input) { return predict(input).moments(); }

Prediction SymmetrisedImpl::predict(const Moments& input) {
  if (input.mean.flatten(1).size(1) < 2)
    throw std::invalid_argument("symmetrise: the model needs at least two inputs to swap");
  const auto a = base_->predict(input);
  const auto b = base_->predict(
      {swap_first_two(input.mean), input.var.defined() ? swap_first_two(input.var) : input.var});
  Prediction out{(a.mean + b.mean) / 2, {}, {}};
  if (a.var.defined() && b.var.defined()) out.var = (a.var + b.var) / 2;
  // The gate averages like the mean; per-expert extras do not (the average
  // of two mixtures is not a mixture of the averaged experts): dropped.
  if (a.extras.count("gate") && b.extras.count("gate"))
    out.extras["gate"] = (a.extras.at("gate") + b.extras.at("gate")) / 2;
  return out;
}

std::vector<std::string> SymmetrisedImpl::data_sized_buffers() const {
  auto names = base_->data_sized_buffers();
  for (auto& n : names) n = "base." + n;
  return names;
}

}  // namespace gsnn
