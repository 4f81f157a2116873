// Smoothed activations against brute-force quadrature of E[h(Z)] and
// Var[h(Z)], exact limits at v = 0, finiteness at extreme inputs, and
// gradients against central finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "moments/moments.hpp"
#include "moments/quadrature.hpp"

namespace gsnn {
namespace {

double pointwise(Activation act, double z) {
  auto t = torch::tensor({z}, torch::kFloat64);
  return activate(act, t).item<double>();
}

// Composite Simpson over m +- 14 s: an independent reference for E and Var.
std::pair<double, double> reference_moments(Activation act, double m, double v) {
  const double s = std::sqrt(v);
  const int n = 40000;  // even
  const double lo = m - 14 * s, h = 28 * s / n;
  std::vector<double> z(n + 1), f(n + 1), w(n + 1);
  for (int i = 0; i <= n; ++i) {
    z[i] = lo + i * h;
    const double u = (z[i] - m) / s;
    w[i] = (i == 0 || i == n ? 1.0 : (i % 2 ? 4.0 : 2.0)) * h / 3.0 * std::exp(-0.5 * u * u) /
           (s * std::sqrt(2 * M_PI));
  }
  auto zt = torch::tensor(z, torch::kFloat64);
  auto ft = activate(act, zt);
  auto wt = torch::tensor(w, torch::kFloat64);
  const double mean = (ft * wt).sum().item<double>();
  const double var = ((ft - mean).pow(2) * wt).sum().item<double>();
  return {mean, var};
}

std::vector<Activation> all_activations() {
  std::vector<Activation> out;
  for (const auto& n : activation_names()) out.push_back(parse_activation(n));
  return out;
}

TEST(Quadrature, LegendreIntegratesPolynomialsExactly) {
  auto gl = gauss_legendre_unit(8);
  double s = 0, s3 = 0;
  for (int i = 0; i < 8; ++i) {
    s += gl.weights[i];
    s3 += gl.weights[i] * std::pow(gl.nodes[i], 7);
  }
  EXPECT_NEAR(s, 1.0, 1e-14);
  EXPECT_NEAR(s3, 1.0 / 8.0, 1e-14);
}

TEST(Moments, InferenceModeFirstThenAutograd) {
  // The probit rule's tensors are built once; built under InferenceMode they
  // must still serve a later call that needs gradients.
  const auto m = torch::linspace(-2, 2, 5, torch::kFloat64);
  {
    c10::InferenceMode guard;
    probit_variance(m, torch::ones_like(m));
  }
  const auto v = torch::ones_like(m).requires_grad_();
  probit_variance(m, v).sum().backward();
  EXPECT_TRUE(torch::isfinite(v.grad()).all().item<bool>());
}

TEST(Moments, MatchQuadratureOnGrid) {
  const std::vector<double> means = {-8, -4, -2, -1, -0.3, 0, 0.5, 1, 2.5, 4, 8};
  const std::vector<double> vars = {1e-4, 0.01, 0.1, 0.5, 1, 3, 10, 30, 100};
  for (auto act : all_activations()) {
    for (double m : means) {
      for (double v : vars) {
        auto got = smoothed_moments(act, torch::tensor({m}, torch::kFloat64),
                                    torch::tensor({v}, torch::kFloat64));
        const auto [ref_mean, ref_var] = reference_moments(act, m, v);
        const double mean = got.mean.item<double>(), var = got.var.item<double>();
        const double var_rtol = 1e-6;
        EXPECT_NEAR(mean, ref_mean, 1e-7 * (1 + std::abs(ref_mean)))
            << activation_name(act) << " m=" << m << " v=" << v;
        EXPECT_NEAR(var, ref_var, var_rtol * ref_var + 1e-12)
            << activation_name(act) << " m=" << m << " v=" << v;
      }
    }
  }
}

TEST(Moments, ZeroVarianceGivesPointwiseValue) {
  for (auto act : all_activations()) {
    for (double m : {-8.0, -1.0, 0.0, 0.3, 2.0, 8.0}) {
      auto got = smoothed_moments(act, torch::tensor({m}, torch::kFloat64),
                                  torch::zeros({1}, torch::kFloat64));
      EXPECT_NEAR(got.mean.item<double>(), pointwise(act, m), 1e-9) << activation_name(act);
      EXPECT_NEAR(got.var.item<double>(), 0.0, 1e-15) << activation_name(act);
    }
  }
}

TEST(Moments, ExtremeInputsStayFinite) {
  const std::vector<double> ms = {-1e4, -8, 0, 8, 1e4};
  const std::vector<double> vs = {0, 1e-30, 1e-8, 1, 100, 1e4, 2e7};
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    for (auto act : all_activations()) {
      std::vector<double> mm, vv;
      for (double m : ms)
        for (double v : vs) mm.push_back(m), vv.push_back(v);
      auto m = torch::tensor(mm, torch::kFloat64).to(dtype).requires_grad_();
      auto v = torch::tensor(vv, torch::kFloat64).to(dtype).requires_grad_();
      auto out = smoothed_moments(act, m, v);
      EXPECT_TRUE(torch::isfinite(out.mean).all().item<bool>()) << activation_name(act);
      EXPECT_TRUE(torch::isfinite(out.var).all().item<bool>()) << activation_name(act);
      EXPECT_TRUE((out.var >= 0).all().item<bool>()) << activation_name(act);
      (out.mean.sum() + out.var.sum()).backward();
      EXPECT_TRUE(torch::isfinite(m.grad()).all().item<bool>()) << activation_name(act);
      EXPECT_TRUE(torch::isfinite(v.grad()).all().item<bool>()) << activation_name(act);
    }
  }
}

TEST(Moments, GradientsMatchFiniteDifferences) {
  const std::vector<double> mm = {-3, -0.7, 0, 0.4, 2, 5};
  const std::vector<double> vv = {0.01, 0.2, 1, 4, 0.05, 20};
  for (auto act : all_activations()) {
    auto m = torch::tensor(mm, torch::kFloat64).requires_grad_();
    auto v = torch::tensor(vv, torch::kFloat64).requires_grad_();
    // Random projection of both outputs, so one backward checks both Jacobians.
    const auto cm = torch::linspace(0.5, 1.5, 6, torch::kFloat64);
    const auto cv = torch::linspace(-1.0, 0.7, 6, torch::kFloat64);
    auto f = [&](const torch::Tensor& a, const torch::Tensor& b) {
      auto o = smoothed_moments(act, a, b);
      return (o.mean * cm + o.var * cv).sum();
    };
    f(m, v).backward();
    const double h = 1e-6;
    for (int i = 0; i < 6; ++i) {
      for (int which = 0; which < 2; ++which) {
        auto mp = m.detach().clone(), vp = v.detach().clone();
        auto mn = m.detach().clone(), vn = v.detach().clone();
        (which ? vp : mp)[i] += h;
        (which ? vn : mn)[i] -= h;
        const double fd = (f(mp, vp).item<double>() - f(mn, vn).item<double>()) / (2 * h);
        const double ad = (which ? v.grad() : m.grad())[i].item<double>();
        EXPECT_NEAR(ad, fd, 1e-6 * (1 + std::abs(fd)))
            << activation_name(act) << (which ? " d/dv" : " d/dm") << " at " << i;
      }
    }
  }
}

// Means far beyond any standardised input (1e19 overflows a float32 square,
// 1e154 a float64 one) give finite moments in the fused kernels and the
// reference alike.
TEST(Moments, HugeMeansStayFinite) {
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    const double huge = dtype == torch::kFloat32 ? 1e19 : 1e154;
    const auto m =
        torch::tensor({-huge, huge, -huge, huge, -huge, huge}, torch::kFloat64).to(dtype);
    const auto v = torch::tensor({0.0, 0.0, 1.0, 1.0, 100.0, 100.0}, torch::kFloat64).to(dtype);
    for (auto act : all_activations()) {
      for (const bool fused : {true, false}) {
        const auto out =
            fused ? smoothed_moments(act, m, v) : smoothed_moments_reference(act, m, v);
        const auto name = activation_name(act) + (fused ? " fused " : " reference ") +
                          std::string(c10::toString(dtype));
        EXPECT_TRUE(torch::isfinite(out.mean).all().item<bool>() || act == Activation::Identity ||
                    act == Activation::Relu || act == Activation::Gelu)
            << name;
        EXPECT_FALSE(torch::isnan(out.mean).any().item<bool>()) << name;
        EXPECT_FALSE(torch::isnan(out.var).any().item<bool>()) << name;
        EXPECT_TRUE(torch::isfinite(out.var).all().item<bool>()) << name;
      }
    }
  }
}

TEST(Moments, TanhIsCloseToTrueTanh) {
  auto z = torch::linspace(-6, 6, 2001, torch::kFloat64);
  const double gap = (activate(Activation::ErfTanh, z) - torch::tanh(z)).abs().max().item<double>();
  EXPECT_LT(gap, 0.036);
}

TEST(Moments, UnknownActivationIsRejected) {
  EXPECT_THROW(parse_activation("softsign"), std::invalid_argument);
}

}  // namespace
}  // namespace gsnn
