// The Gauss-Legendre rule, computed by Newton iteration on the Legendre
// recurrence. Used by the probit/erf variance of the smoothed activations.
#pragma once

#include <vector>

namespace gsnn {

struct QuadratureRule {
  std::vector<double> nodes;
  std::vector<double> weights;
};

// Gauss-Legendre rule with n points on [0, 1] (weights sum to 1).
QuadratureRule gauss_legendre_unit(int n);

}  // namespace gsnn
