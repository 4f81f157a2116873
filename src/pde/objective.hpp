// The physics-informed objective "pde" and the autograd Laplacian it uses.
#pragma once

#include <memory>

#include "train/objective.hpp"

namespace gsnn {

// Laplacian of u [n, 1] with respect to x [n, d] (x requires grad and u was
// computed from it): sum_i d2u/dx_i2 by nested autograd, with a graph for
// further derivatives. Works for any model.
torch::Tensor laplacian(const torch::Tensor& u, const torch::Tensor& x);

// Per point of a pde task's data (pde/problem.hpp): interior residual
// -Lap u + kappa u - f, boundary residual u - g, each squared and weighted.
// Parts: "residual" (weighted mean over interior points) and "boundary"
// (weighted mean over boundary points); the loss is their sum. u and its
// Laplacian are in the problem's own units (the Network applies no target
// scaling to a pde model), derivatives with respect to raw coordinates.
// The Laplacian comes from the model's forward Laplacian where its family
// has one (mlp, gmnm, kan, gsnn: Network::value_and_laplacian), else from
// laplacian().
std::shared_ptr<const Objective> make_pde_objective();

}  // namespace gsnn
