// The Gauss-Legendre rule by Newton's method on the three-term recurrence,
// with the classical asymptotic initial guesses.
#include "moments/quadrature.hpp"

#include <cmath>
#include <stdexcept>

namespace gsnn {

QuadratureRule gauss_legendre_unit(int n) {
  if (n < 1) throw std::invalid_argument("gauss_legendre_unit: n must be >= 1");
  QuadratureRule rule{std::vector<double>(n), std::vector<double>(n)};
  for (int i = 0; i < (n + 1) / 2; ++i) {
    double x = std::cos(M_PI * (i + 0.75) / (n + 0.5));
    double dp = 0.0;
    for (int iter = 0; iter < 100; ++iter) {
      double p0 = 1.0, p1 = 0.0;
      for (int j = 1; j <= n; ++j) {  // P_j from P_{j-1}, P_{j-2}
        const double p2 = p1;
        p1 = p0;
        p0 = ((2.0 * j - 1.0) * x * p1 - (j - 1.0) * p2) / j;
      }
      dp = n * (x * p0 - p1) / (x * x - 1.0);
      const double dx = p0 / dp;
      x -= dx;
      if (std::abs(dx) < 1e-15) break;
    }
    const double w = 2.0 / ((1.0 - x * x) * dp * dp);
    // map [-1, 1] -> [0, 1]
    rule.nodes[i] = 0.5 * (1.0 - x);
    rule.nodes[n - 1 - i] = 0.5 * (1.0 + x);
    rule.weights[i] = rule.weights[n - 1 - i] = 0.5 * w;
  }
  return rule;
}

}  // namespace gsnn
