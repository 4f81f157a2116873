// A deterministic model family from any LibTorch module that maps
// [batch, features] -> [batch, outputs] and has initialise(x) for a
// data-dependent start (GMNM, KAN, RBF): the mean goes through the module
// (inputs of any shape are flattened), no variance comes out.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "nn/model.hpp"

namespace gsnn {

// Whether Layer has forward_laplacian(z, w) -> pair<Tensor, Tensor>.
template <class Layer, class = void>
constexpr bool kHasForwardLaplacian = false;
template <class Layer>
constexpr bool kHasForwardLaplacian<
    Layer, std::void_t<decltype(std::declval<Layer&>().forward_laplacian(
               std::declval<const torch::Tensor&>(), std::declval<const torch::Tensor&>()))>> =
    true;

// Whether Layer has before_step(step, inputs).
template <class Layer, class = void>
constexpr bool kHasBeforeStep = false;
template <class Layer>
constexpr bool
    kHasBeforeStep<Layer, std::void_t<decltype(std::declval<Layer&>().before_step(
                              int64_t{}, std::declval<const std::function<torch::Tensor()>&>()))>> =
        true;

template <class Layer>
class LayerModelImpl : public ModelImpl {
 public:
  explicit LayerModelImpl(std::shared_ptr<Layer> layer)
      : layer_(register_module("layer", std::move(layer))) {}
  Moments forward(const Moments& input) override {
    return {layer_->forward(input.mean.flatten(1)), {}};
  }
  void initialise(const torch::Tensor& x, const torch::Tensor&) override {
    layer_->initialise(x.flatten(1));
  }
  void before_step(int64_t step, const std::function<torch::Tensor()>& inputs) override {
    if constexpr (kHasBeforeStep<Layer>)
      layer_->before_step(step, [&inputs] { return inputs().flatten(1); });
  }
  std::pair<torch::Tensor, torch::Tensor> forward_laplacian(const torch::Tensor& z,
                                                            const torch::Tensor& w) override {
    if constexpr (kHasForwardLaplacian<Layer>) return layer_->forward_laplacian(z, w);
    return {};
  }

 private:
  std::shared_ptr<Layer> layer_;
};

}  // namespace gsnn
