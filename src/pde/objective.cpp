// laplacian() and the pde objective.
#include "pde/objective.hpp"

#include <torch/torch.h>

namespace gsnn {

torch::Tensor laplacian(const torch::Tensor& u, const torch::Tensor& x) {
  const auto grad = torch::autograd::grad({u.sum()}, {x}, {}, true, true)[0];  // [n, d]
  auto lap = torch::zeros_like(u);
  for (int64_t i = 0; i < x.size(1); ++i) {
    const auto second = torch::autograd::grad({grad.select(1, i).sum()}, {x}, {}, true, true)[0];
    lap = lap + second.select(1, i).unsqueeze(1);
  }
  return lap;
}

namespace {

class PdeObjective : public Objective {
 public:
  LossParts loss(Network& model, const Batch& b) const override {
    // Derivatives are needed even where the trainer evaluates without gradients.
    torch::AutoGradMode enable(true);
    auto [u, lap] = model->value_and_laplacian(b.x);
    if (!lap.defined()) {  // no forward Laplacian for this family: nested autograd
      const auto x = b.x.detach().requires_grad_(true);
      u = model->forward(x).mean;
      lap = laplacian(u, x);
    }
    const auto target = b.y.select(1, 0).unsqueeze(1), weight = b.y.select(1, 3).unsqueeze(1);
    const auto on_boundary = b.y.select(1, 1).unsqueeze(1) > 0.5;
    const auto kappa = b.y.select(1, 2).unsqueeze(1);
    const auto interior_residual = -lap + kappa * u - target;
    const auto boundary_residual = u - target;
    auto weighted_mean = [&](const torch::Tensor& r, const torch::Tensor& mask) {
      const auto w = weight * mask.to(weight.dtype());
      return (w * r.square()).sum() / mask.sum().clamp_min(1);
    };
    const auto residual = weighted_mean(interior_residual, ~on_boundary);
    const auto boundary = weighted_mean(boundary_residual, on_boundary);
    return {residual + boundary, {{"residual", residual}, {"boundary", boundary}}};
  }
};

}  // namespace

std::shared_ptr<const Objective> make_pde_objective() {
  return std::make_shared<const PdeObjective>();
}

}  // namespace gsnn
