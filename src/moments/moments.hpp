// The (mean, variance) pair that flows through every gsnn model, and the
// Gaussian-smoothed activations: for Z ~ N(m, v), E[h(Z)] and Var[h(Z)] in
// closed form (docs/gsnn-maths.md lists the formulas as implemented).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace gsnn {

// A Gaussian-path tensor: independent units with mean `mean` and variance
// `var` (same shape, var >= 0). An undefined `var` means exactly zero: a
// deterministic tensor, for which no variance is allocated or multiplied.
struct Moments {
  torch::Tensor mean;
  torch::Tensor var;
  bool deterministic() const { return !var.defined(); }
  torch::Tensor variance() const;  // var, or zeros like mean
};

// The algebra of independent Gaussian-path tensors, written once for every
// model (src/moments/algebra.cpp). Deterministic operands stay deterministic.
//   a + b (independent):           (ma + mb, va + vb)
//   c * a (c a constant tensor):   (c ma, c^2 va)
//   a W^T + b (affine map):        (ma W^T + b, va (W o W)^T)
//   a * b (independent, elementwise): (ma mb, va vb + va mb^2 + vb ma^2)
//   a + N(0, v):                   (ma, va + v)
Moments moments_sum(const Moments& a, const Moments& b);
Moments moments_scale(const Moments& a, const torch::Tensor& c);
Moments moments_affine(const Moments& x, const torch::Tensor& weight, const torch::Tensor& bias);
Moments moments_product(const Moments& a, const Moments& b);
Moments moments_add_variance(const Moments& a, const torch::Tensor& v);

// Activations of the Gaussian path. Each has exact smoothed moments.
//   erf-tanh is erf(sqrt(pi) z / 2), a tanh-shaped sigmoid within 0.036 of
//   tanh(z) everywhere, so that its moments are exact. Its name says it is not
//   tanh itself (the MLP baseline's "tanh" is).
enum class Activation { Identity, Relu, Probit, Erf, ErfTanh, Bump, Sin, Gelu };

Activation parse_activation(const std::string& name);  // throws std::invalid_argument
std::string activation_name(Activation activation);
std::vector<std::string> activation_names();

// h(z), pointwise (used on the mean alone by the "mean-only" ablation).
torch::Tensor activate(Activation activation, const torch::Tensor& z);

// E[h(Z)] and Var[h(Z)] for Z ~ N(mean, var), elementwise. Differentiable
// (to any order), finite for all finite inputs, exact h(mean) and zero
// variance at var = 0. On the CPU, in float32 and float64, a fused kernel with
// an analytic backward (moments/kernels/); elsewhere the reference below.
Moments smoothed_moments(Activation activation, const torch::Tensor& mean,
                         const torch::Tensor& var);
// The same as a chain of ATen operations differentiated by autograd: the
// reference the fused kernels are tested against, and what runs on GPUs.
Moments smoothed_moments_reference(Activation activation, const torch::Tensor& mean,
                                   const torch::Tensor& var);
// Turns the fused kernels off (process-wide) to measure or compare against
// the reference; on by default.
void set_fused_kernels(bool enabled);
bool fused_kernels();

// Clamps inside the smoothed moments, where the result no longer depends on
// the value but its square would overflow float32 (inf * 0 is NaN): the
// ReLU's m/sqrt(v) (its variance factor is exactly 0 or 1 beyond 40) and the
// bump's and gelu's variance's m (exactly 0 there beyond |m| = 1e15).
constexpr double kSmoothedClampStandardised = 1e4;
constexpr double kSmoothedClampMean = 1e15;

// Gauss-Legendre nodes of the probit variance's integral: below each dtype's
// rounding wherever the variance exceeds ~1e-30 (docs/gsnn-maths.md).
constexpr int probit_variance_nodes(bool float64) { return float64 ? 16 : 8; }

// Var[Phi(Z)] for Z ~ N(m, v), without cancellation (exposed for tests).
torch::Tensor probit_variance(const torch::Tensor& mean, const torch::Tensor& var);

}  // namespace gsnn
