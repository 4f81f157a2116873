// Gauss-Legendre and Gauss-Hermite rules by Newton's method on the three-term
// recurrences, with the classical asymptotic initial guesses.
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

QuadratureRule gauss_hermite_normal(int n) {
  if (n < 1) throw std::invalid_argument("gauss_hermite_normal: n must be >= 1");
  // Physicists' Hermite rule via orthonormal recurrence, then x -> sqrt(2) x.
  QuadratureRule rule{std::vector<double>(n), std::vector<double>(n)};
  const double pim4 = std::pow(M_PI, -0.25);
  double x = 0.0;
  for (int i = 0; i < (n + 1) / 2; ++i) {
    if (i == 0)
      x = std::sqrt(2.0 * n + 1.0) - 1.85575 * std::pow(2.0 * n + 1.0, -1.0 / 6.0);
    else if (i == 1)
      x -= 1.14 * std::pow(n, 0.426) / x;
    else if (i == 2)
      x = 1.86 * x - 0.86 * rule.nodes[0];
    else if (i == 3)
      x = 1.91 * x - 0.91 * rule.nodes[1];
    else
      x = 2.0 * x - rule.nodes[i - 2];
    double dp = 0.0;
    for (int iter = 0; iter < 200; ++iter) {
      double p0 = pim4, p1 = 0.0;
      for (int j = 1; j <= n; ++j) {
        const double p2 = p1;
        p1 = p0;
        p0 = x * std::sqrt(2.0 / j) * p1 - std::sqrt((j - 1.0) / j) * p2;
      }
      dp = std::sqrt(2.0 * n) * p1;
      const double dx = p0 / dp;
      x -= dx;
      if (std::abs(dx) < 1e-14) break;
    }
    rule.nodes[i] = x;  // unscaled while iterating (used by the guesses)
    rule.nodes[n - 1 - i] = -x;
    rule.weights[i] = rule.weights[n - 1 - i] = 2.0 / (dp * dp);
  }
  for (int i = 0; i < n; ++i) {
    rule.nodes[i] *= std::sqrt(2.0);
    rule.weights[i] /= std::sqrt(M_PI);
  }
  return rule;
}

}  // namespace gsnn
