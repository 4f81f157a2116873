// Closed-form Gaussian-smoothed activations. Every variance is written in a
// form without catastrophic cancellation (no E[h^2] - E[h]^2 of two O(1)
// numbers), and every branch keeps its inputs finite so that autograd never
// multiplies a zero by an infinity.
#include "moments/moments.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "moments/quadrature.hpp"

namespace gsnn {
namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
// Floor under v inside sqrt(v): keeps d sqrt(v)/dv finite at v = 0.
constexpr double kVarFloor = 1e-20;
// Clamps that keep squares finite where the result no longer depends on the
// value (shared with the fused kernels through moments.hpp).
constexpr double kMaxStandardised = kSmoothedClampStandardised;
constexpr double kMaxMean = kSmoothedClampMean;

torch::Tensor normal_cdf(const torch::Tensor& x) { return 0.5 * torch::erfc(-x * kInvSqrt2); }
torch::Tensor normal_pdf(const torch::Tensor& x) { return kInvSqrt2Pi * torch::exp(-0.5 * x * x); }

// The probit-variance rule's nodes and weights as tensors of `like`'s device
// and dtype, built once per (device, dtype): no host-to-device copy per call.
std::pair<torch::Tensor, torch::Tensor> probit_rule(const torch::Tensor& like) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, torch::ScalarType>,
                  std::pair<torch::Tensor, torch::Tensor>>
      cache;
  const auto key = std::make_pair(like.device().str(), like.scalar_type());
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) {
    // Ordinary tensors even when called under InferenceMode, so that a later
    // training call can use them in autograd.
    c10::InferenceMode normal(false);
    const auto rule =
        gauss_legendre_unit(probit_variance_nodes(like.scalar_type() == torch::kFloat64));
    const auto options = torch::TensorOptions().dtype(torch::kFloat64);
    it = cache
             .emplace(key, std::make_pair(torch::tensor(rule.nodes, options).to(like.options()),
                                          torch::tensor(rule.weights, options).to(like.options())))
             .first;
  }
  return it->second;
}

Moments relu_moments(const torch::Tensor& m, const torch::Tensor& v) {
  const auto s = torch::sqrt(v + kVarFloor);
  const auto a = m / s;
  const auto cdf = normal_cdf(a);
  const auto sf = normal_cdf(-a);  // 1 - Phi(a), accurate in the tail
  const auto pdf = normal_pdf(a);
  const auto mean = m * cdf + s * pdf;
  // Var = v * g(a), g(a) = Var[relu(a + X)], X ~ N(0,1), rearranged so that
  // the a^2 terms cancel analytically: g = Phi + a^2 Phi Sf + a phi (Sf - Phi) - phi^2.
  // g is exactly 0 or 1 beyond |a| = 40; the clamp keeps a^2 finite (inf * 0 is NaN).
  const auto ac = a.clamp(-kMaxStandardised, kMaxStandardised);
  const auto g = cdf + ac * ac * cdf * sf + ac * pdf * (sf - cdf) - pdf * pdf;
  return {mean, v * g.clamp(0.0, 1.0)};
}

Moments probit_moments(const torch::Tensor& m, const torch::Tensor& v) {
  return {normal_cdf(m / torch::sqrt(1.0 + v)), probit_variance(m, v)};
}

// erf(c Z) = 2 Phi(sqrt(2) c Z) - 1 with sqrt(2) c Z ~ N(sqrt(2) c m, 2 c^2 v).
Moments scaled_erf_moments(const torch::Tensor& m, const torch::Tensor& v, double c) {
  const auto mean = torch::erf(c * m / torch::sqrt(1.0 + 2.0 * c * c * v));
  const auto var = 4.0 * probit_variance(std::sqrt(2.0) * c * m, 2.0 * c * c * v);
  return {mean, var};
}

Moments bump_moments(const torch::Tensor& m_raw, const torch::Tensor& v) {
  // Mean and variance are exactly 0 far beyond |m| = 40 sqrt(1+v); the clamp
  // keeps m^2 finite in float32 (inf - inf is NaN).
  const auto m = m_raw.clamp(-kMaxMean, kMaxMean);
  const auto m2 = m * m;
  const auto log_mean = -0.5 * m2 / (1.0 + v) - 0.5 * torch::log1p(v);
  // Var = mean^2 * expm1(t), t = m^2 v / ((1+v)(1+2v)) + log1p(v) - log1p(2v)/2 >= 0,
  // with log1p(v) - log1p(2v)/2 = log1p(v^2/(1+2v))/2 (no cancellation at small v).
  const auto t =
      (m2 * v / ((1.0 + v) * (1.0 + 2.0 * v)) + 0.5 * torch::log1p(v * v / (1.0 + 2.0 * v)))
          .clamp_min(0.0);
  // expm1 overflows for large t: switch to the log domain there (inputs of
  // each branch clamped to its own range so neither branch yields inf).
  const auto t_small = t.clamp_max(1.0);
  const auto t_large = t.clamp_min(1.0);
  const auto var_small = torch::exp(2.0 * log_mean) * torch::expm1(t_small);
  const auto var_large = torch::exp(2.0 * log_mean + t_large + torch::log1p(-torch::exp(-t_large)));
  return {torch::exp(log_mean), torch::where(t < 1.0, var_small, var_large)};
}

Moments sin_moments(const torch::Tensor& m, const torch::Tensor& v) {
  const auto decay = torch::exp(-v);
  const auto cos_m = torch::cos(m);
  // Var = (1 - e^{-v}) [ (1 - e^{-v})/2 + cos^2(m) e^{-v} ]: a sum of non-negative terms
  const auto one_minus = -torch::expm1(-v);
  const auto var = one_minus * (0.5 * one_minus + cos_m * cos_m * decay);
  return {torch::sin(m) * torch::exp(-0.5 * v), var};
}

Moments gelu_moments(const torch::Tensor& m, const torch::Tensor& v) {
  const auto root = torch::sqrt(1.0 + v);
  const auto a = m / root;
  const auto cdf_a = normal_cdf(a);
  const auto pdf_a = normal_pdf(a) / root;  // E[phi(Z)] = N(m; 0, 1+v)
  const auto mean = m * cdf_a + v * pdf_a;
  // E[Z^2 g(Z)] with g = Phi^2, by Stein's lemma twice:
  //   (v + m^2) E[g] + 2 m v E[g'] + v^2 E[g''],  g' = 2 Phi phi, g'' = 2 phi^2 - 2 z Phi phi.
  // phi(z) N(z; m, v) = N(m; 0, 1+v) N(z; m_w, v_w), m_w = m/(1+v), v_w = v/(1+v),
  // so E[Phi phi] and E[Z Phi phi] are probit and gelu means under N(m_w, v_w).
  // The m^2 Phi(a)^2 of E[h^2] and mean^2 is cancelled analytically below.
  const auto b = m / torch::sqrt((1.0 + v) * (1.0 + 2.0 * v));
  const auto m_w = m / (1.0 + v), v_w = v / (1.0 + v);
  const auto root_w = torch::sqrt(1.0 + v_w);
  const auto gelu_mean_w = m_w * normal_cdf(m_w / root_w) + v_w * normal_pdf(m_w / root_w) / root_w;
  const auto e_phi2 =
      torch::exp(-m * m / (1.0 + 2.0 * v)) / (2.0 * M_PI * torch::sqrt(1.0 + 2.0 * v));
  const auto e_g2 = 2.0 * e_phi2 - 2.0 * pdf_a * gelu_mean_w;
  // Beyond |m| = 1e15 the probit variance is 0 and m^2 would overflow float32.
  const auto mc = m.clamp(-kMaxMean, kMaxMean);
  const auto var = v * cdf_a * cdf_a + (v + mc * mc) * probit_variance(mc, v) +
                   2.0 * m * v * pdf_a * (2.0 * normal_cdf(b) - cdf_a) - v * v * pdf_a * pdf_a +
                   v * v * e_g2;
  return {mean, var.clamp_min(0.0)};
}

}  // namespace

torch::Tensor probit_variance(const torch::Tensor& m, const torch::Tensor& v) {
  // Plackett: d Phi2(a,a;r)/dr = phi2(a,a;r) and Phi2(a,a;0) = Phi(a)^2, so
  //   Var[Phi(Z)] = Phi2(a,a;rho) - Phi(a)^2 = int_0^rho phi2(a,a;r) dr,
  // with a = m/sqrt(1+v), rho = v/(1+v). Substituting r = sin(theta),
  // theta = 2 atan(t):
  //   Var = (1/pi) int_0^T exp(-a^2 (1+t^2)/(1+t)^2) / (1+t^2) dt,
  //   T = tan(asin(rho)/2) = v / (1 + v + sqrt(1+2v)) in [0, 1),
  // a smooth integrand on a finite interval without trigonometric functions:
  // Gauss-Legendre with 16 nodes (float64) is exact to ~1e-15 relative and
  // with 8 (float32) to ~1e-10 where the variance is above ~1e-30 (tests/moments_test.cpp checks
  // against Simpson).
  const auto [nodes, weights] = probit_rule(m);
  const auto a2 = (m * m / (1.0 + v)).unsqueeze(-1);
  const auto upper = (v / (1.0 + v + torch::sqrt(1.0 + 2.0 * v))).unsqueeze(-1);
  const auto t = upper * nodes;
  const auto t2 = 1.0 + t * t;
  const auto integrand = torch::exp(-a2 * t2 / ((1.0 + t) * (1.0 + t))) / t2;
  return (upper * (integrand * weights).sum(-1, true)).squeeze(-1) / M_PI;
}

// The one list of activations and their names.
constexpr std::pair<Activation, const char*> kActivationNames[] = {
    {Activation::Identity, "identity"}, {Activation::Relu, "relu"},
    {Activation::Probit, "probit"},     {Activation::Erf, "erf"},
    {Activation::ErfTanh, "erf-tanh"},  {Activation::Bump, "bump"},
    {Activation::Sin, "sin"},           {Activation::Gelu, "gelu"}};

Activation parse_activation(const std::string& name) {
  for (const auto& [a, n] : kActivationNames)
    if (name == n) return a;
  throw std::invalid_argument(fmt::format("unknown activation '{}' (known: {})", name,
                                          fmt::join(activation_names(), ", ")));
}

std::string activation_name(Activation activation) {
  for (const auto& [a, n] : kActivationNames)
    if (a == activation) return n;
  throw std::logic_error("activation_name: unhandled activation");
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const auto& entry : kActivationNames) names.emplace_back(entry.second);
  return names;
}

torch::Tensor activate(Activation activation, const torch::Tensor& z) {
  switch (activation) {
    case Activation::Identity:
      return z;
    case Activation::Relu:
      return torch::relu(z);
    case Activation::Probit:
      return normal_cdf(z);
    case Activation::Erf:
      return torch::erf(z);
    case Activation::ErfTanh:
      return torch::erf(0.5 * std::sqrt(M_PI) * z);
    case Activation::Bump:
      return torch::exp(-0.5 * z * z);
    case Activation::Sin:
      return torch::sin(z);
    case Activation::Gelu:
      return z * normal_cdf(z);
  }
  throw std::logic_error("activate: unhandled activation");
}

Moments smoothed_moments_reference(Activation activation, const torch::Tensor& mean,
                                   const torch::Tensor& var) {
  switch (activation) {
    case Activation::Identity:
      return {mean, var};
    case Activation::Relu:
      return relu_moments(mean, var);
    case Activation::Probit:
      return probit_moments(mean, var);
    case Activation::Erf:
      return scaled_erf_moments(mean, var, 1.0);
    case Activation::ErfTanh:
      return scaled_erf_moments(mean, var, 0.5 * std::sqrt(M_PI));
    case Activation::Bump:
      return bump_moments(mean, var);
    case Activation::Sin:
      return sin_moments(mean, var);
    case Activation::Gelu:
      return gelu_moments(mean, var);
  }
  throw std::logic_error("smoothed_moments: unhandled activation");
}

}  // namespace gsnn
