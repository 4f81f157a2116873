// Physics-informed problems: -Laplace(u) + kappa u = f on a rectangle with
// Dirichlet values u = g on its boundary, solved by training any model on
// collocation points (pde/objective.hpp). A problem becomes a task of kind
// "pde" whose data carry, per point, the equation it must satisfy:
//   x = (x, y);  y columns = (target, boundary, kappa, weight):
//   interior (boundary = 0): target f, residual -Lap u + kappa u - f;
//   boundary (boundary = 1): target g, residual u - g;
//   weight multiplies the point's squared residual.
// The evaluation set "test" is a regular grid with the exact solution.
#pragma once

#include <torch/types.h>

#include <functional>
#include <string>

#include "tasks/task.hpp"

namespace gsnn {

// f(x, y) for tensors of coordinates (float64, same shape).
using Field = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& y)>;

struct PdeProblem {
  std::string name, summary;
  double x0 = -1, x1 = 1, y0 = -1, y1 = 1;  // the rectangle
  double kappa = 0;                         // -Lap u + kappa u = f
  Field source, boundary;                   // f, g
  Field exact;                              // the solution, if known (empty: no error metrics)
  nlohmann::json definition;                // what defines it (results are stale when it changes)
};

// The names of the data columns above.
const std::vector<std::string>& pde_columns();

// A task of kind "pde" for `problem`, with the collocation options
// interior, boundary (point counts), sampling (uniform | grid),
// boundary_weight and grid (points per side of the error grid).
Task pde_task(const PdeProblem& problem, const nlohmann::json& options = {});

// Built in: eq. (4) of seed 002 (poisson2d) and Helmholtz with k = 4 pi (helmholtz2d).
PdeProblem poisson2d_problem();
PdeProblem helmholtz2d_problem();

}  // namespace gsnn
