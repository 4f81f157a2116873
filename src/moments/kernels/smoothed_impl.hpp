// The fused smoothed-activation kernels, written once on ATen's Vectorized<T>
// and compiled per ISA: the including file defines GSNN_KERNEL_ISA (the
// namespace) and CPU_CAPABILITY (ATen's). Every value is computed by the same
// formula, in the same order, as the reference in moments.cpp, so that the two
// agree to rounding; the derivatives are closed forms (docs/gsnn-maths.md).
#pragma once

#include <ATen/cpu/vec/vec.h>

#include <array>
#include <cmath>
#include <type_traits>

#include "moments/kernels/smoothed.hpp"
#include "moments/quadrature.hpp"

namespace gsnn::kernels::GSNN_KERNEL_ISA {
namespace {

template <typename T>
using Vec = at::vec::Vectorized<T>;

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kVarFloor = 1e-20;  // as the reference: keeps d sqrt(v)/dv finite

template <typename T>
Vec<T> c(double x) {
  return Vec<T>(static_cast<T>(x));
}
// erfc for derivatives (and float32 erf's tail). In float32, the Chebyshev-fitted form of Press et
// al. (Numerical Recipes' erfcc: relative error < 1.2e-7, one exp) instead of Sleef's erfcf, which
// cost a quarter of a GSNN training step. Values keep Sleef's (a mean that cancels, like the
// ReLU's, would amplify the 1.2e-7).
template <typename T>
Vec<T> derivative_erfc(const Vec<T>& x) {
  if constexpr (std::is_same_v<T, float>) {
    const auto z = x.abs();
    const auto t = c<T>(1) / (c<T>(1) + c<T>(0.5) * z);
    auto p = c<T>(0.17087277);
    for (const double k : {-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
                           0.09678418, 0.37409196, 1.00002368, -1.26551223})
      p = at::vec::fmadd(p, t, c<T>(k));
    const auto upper = t * (p - z * z).exp();
    return Vec<T>::blendv(upper, c<T>(2) - upper, x < c<T>(0));
  } else {
    return x.erfc();
  }
}
// erf. In float32 a 1e-7 form in place of Sleef's erff (a seventh of a GSNN
// step): the Taylor series to y^15 below |y| = 1/2 (truncation < 1e-9),
// 1 - erfc above (erfc's 1.2e-7 relative error is < 1.2e-7 of erf there).
template <typename T>
Vec<T> erf(const Vec<T>& y) {
  if constexpr (std::is_same_v<T, float>) {
    const auto y2 = y * y;
    auto series = c<T>(-1.0 / (5040.0 * 15.0));  // (-1)^n / (n! (2n+1)), n = 7 .. 0
    for (const double k : {1.0 / (720.0 * 13.0), -1.0 / (120.0 * 11.0), 1.0 / (24.0 * 9.0),
                           -1.0 / (6.0 * 7.0), 1.0 / (2.0 * 5.0), -1.0 / 3.0, 1.0})
      series = at::vec::fmadd(series, y2, c<T>(k));
    const auto small = c<T>(2.0 / std::sqrt(M_PI)) * y * series;
    const auto tail = c<T>(1) - derivative_erfc(y.abs());
    const auto large = Vec<T>::blendv(tail, tail.neg(), y < c<T>(0));
    return Vec<T>::blendv(large, small, y.abs() < c<T>(0.5));
  } else {
    return y.erf();
  }
}
template <typename T>
Vec<T> normal_cdf(const Vec<T>& x) {
  return c<T>(0.5) * (x.neg() * c<T>(kInvSqrt2)).erfc();
}
template <typename T>
Vec<T> normal_pdf(const Vec<T>& x) {
  return c<T>(kInvSqrt2Pi) * (c<T>(-0.5) * x * x).exp();
}

template <typename T>
struct Out {
  Vec<T> mean, var, dmean_dm, dmean_dv, dvar_dm, dvar_dv;
};

template <typename T, bool Grad>
Out<T> relu(const Vec<T>& m, const Vec<T>& v) {
  const auto s = (v + c<T>(kVarFloor)).sqrt();
  const auto a = m / s;
  const auto cdf = normal_cdf(a), sf = normal_cdf(a.neg()), pdf = normal_pdf(a);
  Out<T> o;
  o.mean = m * cdf + s * pdf;
  const auto ac =
      at::vec::clamp(a, c<T>(-kSmoothedClampStandardised), c<T>(kSmoothedClampStandardised));
  const auto g = cdf + ac * ac * cdf * sf + ac * pdf * (sf - cdf) - pdf * pdf;
  o.var = v * at::vec::minimum(at::vec::maximum(g, c<T>(0)), c<T>(1));
  if constexpr (Grad) {
    // d/dm E[h] = E[h'], d/dv E[h] = E[h'']/2, with E[relu^2]' = 2 mean, E[relu^2]'' / 2 = Phi
    o.dmean_dm = cdf;
    o.dmean_dv = pdf / (c<T>(2) * s);
    o.dvar_dm = c<T>(2) * o.mean * sf;
    o.dvar_dv = cdf - o.mean * pdf / s;
  }
  return o;
}

// Gauss-Legendre nodes and weights on [0, 1], as T.
template <typename T>
constexpr int kProbitNodes = probit_variance_nodes(std::is_same_v<T, double>);

template <typename T>
const std::array<T, kProbitNodes<T>>& probit_nodes(bool weights) {
  static const auto tables = [] {
    const auto rule = gauss_legendre_unit(kProbitNodes<T>);
    std::array<std::array<T, kProbitNodes<T>>, 2> t{};
    for (int k = 0; k < kProbitNodes<T>; ++k) {
      t[0][k] = static_cast<T>(rule.nodes[k]);
      t[1][k] = static_cast<T>(rule.weights[k]);
    }
    return t;
  }();
  return tables[weights ? 1 : 0];
}

// Var[Phi(Z)], Z ~ N(m, v): the reference's Plackett integral, node by node.
template <typename T>
Vec<T> probit_variance(const Vec<T>& m, const Vec<T>& v) {
  const auto& nodes = probit_nodes<T>(false);
  const auto& weights = probit_nodes<T>(true);
  const auto a2 = m * m / (c<T>(1) + v);
  const auto upper = v / (c<T>(1) + v + (c<T>(1) + c<T>(2) * v).sqrt());
  auto sum = Vec<T>(T(0));
  for (int k = 0; k < kProbitNodes<T>; ++k) {
    // One division per node (they, not exp, bounded the loop): with
    // r = 1 / ((1+t)^2 (1+t^2)), (1+t^2)/(1+t)^2 = (1+t^2)^2 r and 1/(1+t^2) = (1+t)^2 r.
    const auto t = upper * Vec<T>(nodes[k]);
    const auto t2 = c<T>(1) + t * t;
    const auto one_t2 = (c<T>(1) + t) * (c<T>(1) + t);
    const auto r = c<T>(1) / (one_t2 * t2);
    sum = sum + (a2.neg() * t2 * t2 * r).exp() * (one_t2 * r * Vec<T>(weights[k]));
  }
  return upper * sum / c<T>(M_PI);
}

// The probit family: h(z) = scale * Phi(alpha z) + shift, as a function of
// (alpha m, alpha^2 v). Probit: alpha = 1, scale 1. erf(c z) = 2 Phi(sqrt(2) c z) - 1:
// alpha = sqrt(2) c, scale 2, and the mean is taken by erf directly (exact near 0).
template <typename T, bool Grad>
Out<T> probit_family(const Vec<T>& m, const Vec<T>& v, double erf_c) {
  const bool is_erf = erf_c > 0;
  const double alpha = is_erf ? std::sqrt(2.0) * erf_c : 1.0;
  const double beta = is_erf ? 2.0 * erf_c * erf_c : 1.0;
  const double scale = is_erf ? 2.0 : 1.0;
  const auto mp = is_erf ? c<T>(alpha) * m : m;
  const auto vp = is_erf ? c<T>(beta) * v : v;
  Out<T> o;
  o.mean = is_erf ? erf(c<T>(erf_c) * m / (c<T>(1) + c<T>(beta) * v).sqrt())
                  : normal_cdf(m / (c<T>(1) + v).sqrt());
  o.var = c<T>(scale * scale) * probit_variance(mp, vp);
  if constexpr (Grad) {
    const auto one_v = c<T>(1) + vp;
    const auto r = one_v.sqrt(), q = (c<T>(1) + c<T>(2) * vp).sqrt();
    const auto a = mp / r;
    const auto pdf = normal_pdf(a);
    // d Var/da at fixed rho: 2 phi(a) [Phi(a/q) - Phi(a)], from upper tails (no cancellation).
    const auto abs_a = a.abs() * c<T>(kInvSqrt2);
    const auto tails = c<T>(0.5) * (derivative_erfc(abs_a) - derivative_erfc(abs_a / q));
    const auto signed_tails = Vec<T>::blendv(tails, tails.neg(), a < c<T>(0));
    const auto dvar_da = c<T>(2) * pdf * signed_tails;
    // d Var/dv at fixed a: phi2(a, a; rho) d rho/dv.
    const auto dvar_dv_a =
        (mp * mp / (c<T>(1) + c<T>(2) * vp)).neg().exp() / (c<T>(2.0 * M_PI) * one_v * q);
    const auto da_dv = a.neg() / (c<T>(2) * one_v);  // da/dm = 1/r
    o.dmean_dm = c<T>(scale * alpha) * pdf / r;
    o.dmean_dv = c<T>(scale * beta) * pdf * da_dv;
    o.dvar_dm = c<T>(scale * scale * alpha) * dvar_da / r;
    o.dvar_dv = c<T>(scale * scale * beta) * (dvar_dv_a + dvar_da * da_dv);
  }
  return o;
}

template <typename T, bool Grad>
Out<T> bump(const Vec<T>& m_raw, const Vec<T>& v) {
  const auto m = at::vec::clamp(m_raw, c<T>(-kSmoothedClampMean), c<T>(kSmoothedClampMean));
  const auto m2 = m * m;
  const auto one_v = c<T>(1) + v, one_2v = c<T>(1) + c<T>(2) * v;
  const auto log_mean = c<T>(-0.5) * m2 / one_v - c<T>(0.5) * v.log1p();
  const auto t =
      at::vec::maximum(m2 * v / (one_v * one_2v) + c<T>(0.5) * (v * v / one_2v).log1p(), c<T>(0));
  const auto t_small = at::vec::minimum(t, c<T>(1)), t_large = at::vec::maximum(t, c<T>(1));
  const auto var_small = (c<T>(2) * log_mean).exp() * t_small.expm1();
  const auto var_large = (c<T>(2) * log_mean + t_large + t_large.neg().exp().neg().log1p()).exp();
  Out<T> o;
  o.mean = log_mean.exp();
  o.var = Vec<T>::blendv(var_large, var_small, t < c<T>(1));
  if constexpr (Grad) {
    // With var = mean^2 expm1(t) and mean^2 e^t = E[h^2] = exp(-m^2/(1+2v))/sqrt(1+2v):
    //   d var = 2 (d log mean) var + E[h^2] dt, finite where expm1(t) would overflow.
    const auto dlog_dm = m.neg() / one_v;
    const auto dlog_dv = c<T>(0.5) * m2 / (one_v * one_v) - c<T>(0.5) / one_v;
    const auto e_h2 = (m2 / one_2v).neg().exp() / one_2v.sqrt();
    const auto dt_dm = c<T>(2) * m * v / (one_v * one_2v);
    const auto dt_dv =
        m2 * (c<T>(1) - c<T>(2) * v * v) / (one_v * one_v * one_2v * one_2v) + v / (one_v * one_2v);
    o.dmean_dm = o.mean * dlog_dm;
    o.dmean_dv = o.mean * dlog_dv;
    o.dvar_dm = c<T>(2) * dlog_dm * o.var + e_h2 * dt_dm;
    o.dvar_dv = c<T>(2) * dlog_dv * o.var + e_h2 * dt_dv;
  }
  return o;
}

template <typename T, bool Grad>
Out<T> sine(const Vec<T>& m, const Vec<T>& v) {
  const auto decay = v.neg().exp();
  const auto cos_m = m.cos(), sin_m = m.sin();
  const auto one_minus = v.neg().expm1().neg();
  Out<T> o;
  o.var = one_minus * (c<T>(0.5) * one_minus + cos_m * cos_m * decay);
  const auto half_decay = (c<T>(-0.5) * v).exp();
  o.mean = sin_m * half_decay;
  if constexpr (Grad) {
    // Var = (1 - e^{-2v} cos 2m)/2 - sin^2 m e^{-v}
    o.dmean_dm = cos_m * half_decay;
    o.dmean_dv = c<T>(-0.5) * o.mean;
    o.dvar_dm = (c<T>(2) * sin_m * cos_m * decay * one_minus).neg();
    o.dvar_dv = decay * (decay * (cos_m * cos_m - sin_m * sin_m) + sin_m * sin_m);
  }
  return o;
}

template <typename T, bool Grad>
Out<T> evaluate(Activation activation, const Vec<T>& m, const Vec<T>& v) {
  switch (activation) {
    case Activation::Relu:
      return relu<T, Grad>(m, v);
    case Activation::Probit:
      return probit_family<T, Grad>(m, v, 0.0);
    case Activation::Erf:
      return probit_family<T, Grad>(m, v, 1.0);
    case Activation::ErfTanh:
      return probit_family<T, Grad>(m, v, 0.5 * std::sqrt(M_PI));
    case Activation::Bump:
      return bump<T, Grad>(m, v);
    case Activation::Sin:
      return sine<T, Grad>(m, v);
    default:
      return {};  // no kernel: the dispatcher never calls one (has_smoothed_kernel)
  }
}

template <typename T, bool Grad>
void run(Activation activation, const SmoothedArgs<T>& a, int64_t n) {
  constexpr int64_t width = Vec<T>::size();
  for (int64_t i = 0; i < n; i += width) {
    const int count = static_cast<int>(std::min(width, n - i));
    const auto m = Vec<T>::loadu(a.mean_in + i, count);
    const auto v = Vec<T>::loadu(a.var_in + i, count);
    const auto o = evaluate<T, Grad>(activation, m, v);
    o.mean.store(a.mean + i, count);
    o.var.store(a.var + i, count);
    if constexpr (Grad) {
      o.dmean_dm.store(a.dmean_dm + i, count);
      o.dmean_dv.store(a.dmean_dv + i, count);
      o.dvar_dm.store(a.dvar_dm + i, count);
      o.dvar_dv.store(a.dvar_dv + i, count);
    }
  }
}

template <typename T>
void dispatch(Activation activation, const SmoothedArgs<T>& args, int64_t n) {
  if (args.dmean_dm)
    run<T, true>(activation, args, n);
  else
    run<T, false>(activation, args, n);
}

}  // namespace

void smoothed(Activation activation, const SmoothedArgs<float>& args, int64_t n) {
  dispatch(activation, args, n);
}
void smoothed(Activation activation, const SmoothedArgs<double>& args, int64_t n) {
  dispatch(activation, args, n);
}

}  // namespace gsnn::kernels::GSNN_KERNEL_ISA
