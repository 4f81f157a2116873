// What a forward Laplacian (ModelImpl::forward_laplacian) carries through a
// stack of layers: the value h [n, units], its Jacobian with respect to the
// inputs jac [n, d, units], and its weighted Laplacian lap [n, units].
#pragma once

#include <torch/types.h>

namespace gsnn {

struct LaplacianState {
  torch::Tensor h, jac, lap;
  // At the inputs z [n, d]: h = z, jac = identity, lap = 0.
  static LaplacianState at_inputs(const torch::Tensor& z) {
    auto h = z.flatten(1);
    const int64_t d = h.size(1);
    auto jac = torch::eye(d, h.options()).unsqueeze(0).expand({h.size(0), d, d});
    return {h, jac, torch::zeros_like(h)};
  }
};

}  // namespace gsnn
