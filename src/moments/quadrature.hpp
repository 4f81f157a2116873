// Gauss quadrature rules, computed once by Newton iteration on the orthogonal
// polynomials. Used by the smoothed activations (probit/erf variance, gelu
// variance) and by the tests as an independent reference.
#pragma once

#include <vector>

namespace gsnn {

struct QuadratureRule {
  std::vector<double> nodes;
  std::vector<double> weights;
};

// Gauss-Legendre rule with n points on [0, 1] (weights sum to 1).
QuadratureRule gauss_legendre_unit(int n);

// Gauss-Hermite rule for the standard normal: sum_k w_k f(x_k) ~= E[f(X)],
// X ~ N(0, 1) (weights sum to 1).
QuadratureRule gauss_hermite_normal(int n);

}  // namespace gsnn
