// A deterministic model family from any LibTorch module that maps
// [batch, features] -> [batch, outputs] and has initialise(x) for a
// data-dependent start (GMNM, KAN, RBF): the mean goes through the module
// (inputs of any shape are flattened), no variance comes out.
#pragma once

#include <memory>

#include "nn/model.hpp"

namespace gsnn {

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
  Layer& layer() { return *layer_; }

 private:
  std::shared_ptr<Layer> layer_;
};

}  // namespace gsnn
