// What a forward Laplacian (ModelImpl::forward_laplacian) carries through a
// stack of layers: the value h [n, units], its Jacobian with respect to the
// inputs jac [n, d, units], and its weighted Laplacian lap [n, units].
#pragma once

#include <torch/types.h>

#include <string>

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

// Through an elementwise activation s (tanh, relu, silu, gelu) in one pass
// over memory: h = s(a), J = s'(a) J_a, L = s'(a) L_a + s''(a) sum_i w_i J_a,i^2,
// for `pre` = (a, J_a, L_a) and input weights w [d]. One autograd node with
// an analytic backward (s''' included); a backward that must itself be
// differentiated (create_graph) differentiates the same formulas in ATen ops.
LaplacianState activate_laplacian(const std::string& activation, const LaplacianState& pre,
                                  const torch::Tensor& w);

}  // namespace gsnn
