// The fused smoothed-activation kernels (moments/kernels/) against the ATen
// reference: values on a grid reaching v -> 0, large |m| and large v, for both
// ISAs and dtypes; partial derivatives against central differences; autograd
// gradients of every order against the reference's; and a fit that ends
// where the reference's fit ends.
#include <gtest/gtest.h>

#include <cmath>

#include "moments/kernels/smoothed.hpp"
#include "moments/moments.hpp"
#include "tasks/task.hpp"
#include "train/fit.hpp"

namespace gsnn {
namespace {

std::vector<Activation> fused_activations() {
  std::vector<Activation> out;
  for (const auto& n : activation_names())
    if (kernels::has_smoothed_kernel(parse_activation(n))) out.push_back(parse_activation(n));
  return out;
}

// Every (m, v) pair of the grid, flattened.
std::pair<torch::Tensor, torch::Tensor> grid(torch::ScalarType dtype) {
  const std::vector<double> ms = {-40, -9, -3.3, -1, -0.2, -1e-9, 0, 1e-7, 0.4, 1, 2.5, 7, 35};
  const std::vector<double> vs = {0, 1e-14, 1e-6, 1e-3, 0.05, 0.5, 1, 3, 20, 1e3, 1e6};
  std::vector<double> m, v;
  for (double a : ms)
    for (double b : vs) m.push_back(a), v.push_back(b);
  for (int i = 0; i <= 2400; ++i)  // densely through every branch of the float32 erf
    for (double b : {0.0, 0.3}) m.push_back(-6 + 0.005 * i), v.push_back(b);
  const auto o = torch::TensorOptions().dtype(torch::kFloat64);
  return {torch::tensor(m, o).to(dtype), torch::tensor(v, o).to(dtype)};
}

template <typename T>
std::vector<torch::Tensor> run_kernel(bool avx2, Activation act, const torch::Tensor& m,
                                      const torch::Tensor& v) {
  std::vector<torch::Tensor> out(6);
  for (auto& t : out) t = torch::empty_like(m);
  kernels::SmoothedArgs<T> a{m.data_ptr<T>(),      v.data_ptr<T>(),      out[0].data_ptr<T>(),
                             out[1].data_ptr<T>(), out[2].data_ptr<T>(), out[3].data_ptr<T>(),
                             out[4].data_ptr<T>(), out[5].data_ptr<T>()};
  if (avx2)
    kernels::avx2::smoothed(act, a, m.numel());
  else
    kernels::base::smoothed(act, a, m.numel());
  return out;
}

// Largest |a - b| / max(|a|, |b|, terms) over entries where the scale
// exceeds `floor`; `terms` is the size of the terms a formula cancels.
double max_relative(const torch::Tensor& a, const torch::Tensor& b, double floor,
                    const torch::Tensor& terms = {}) {
  const auto a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
  auto scale = torch::maximum(a64.abs(), b64.abs());
  if (terms.defined()) scale = torch::maximum(scale, terms.to(torch::kFloat64));
  const auto rel = torch::where(scale > floor, (a64 - b64).abs() / scale, torch::zeros_like(a64));
  return rel.max().item<double>();
}

TEST(FusedKernels, EqualTheReferenceOnAGrid) {
  for (const auto dtype : {torch::kFloat64, torch::kFloat32})
    for (const bool avx2 : {false, true})
      for (const auto act : fused_activations()) {
        const auto [m, v] = grid(dtype);
        const auto ref = smoothed_moments_reference(act, m, v);
        const auto got = dtype == torch::kFloat64 ? run_kernel<double>(avx2, act, m, v)
                                                  : run_kernel<float>(avx2, act, m, v);
        const double tol = dtype == torch::kFloat64 ? 1e-12 : 1e-5;
        // Below these, products of tail factors are denormal and no one digit is meaningful.
        const double floor = dtype == torch::kFloat64 ? 1e-290 : 1e-20;
        const auto name =
            activation_name(act) + (avx2 ? " avx2 " : " base ") + std::string(c10::toString(dtype));
        EXPECT_TRUE(torch::isfinite(got[0]).all().item<bool>()) << name;
        EXPECT_TRUE(torch::isfinite(got[1]).all().item<bool>()) << name;
        // The ReLU's mean m Phi(a) + s phi(a) and variance v g(a), a = m/s, cancel terms of
        // size |m| Phi(a) + s phi(a) and v (1 + a^2) Phi(a) in the lower tail, where reference and
        // kernel both lose relative accuracy: compare against the size of those terms.
        torch::Tensor mean_terms, var_terms;
        if (act == Activation::Relu) {
          const auto s = torch::sqrt(v + 1e-30);
          const auto cdf = 0.5 * torch::erfc(-m / (s * std::sqrt(2.0)));
          mean_terms = m.abs() * cdf + s * torch::exp(-0.5 * (m / s).square()) * 0.3989422804014327;
          var_terms = v * cdf * (1 + (m / s).square());
        }
        EXPECT_LE(max_relative(got[0], ref.mean, floor, mean_terms), tol) << name << " mean";
        EXPECT_LE(max_relative(got[1], ref.var, floor, var_terms), tol) << name << " var";
      }
}

// Central differences of the kernel's own values against its partials, in
// float64 away from v = 0 (where d sqrt(v)/dv is unbounded).
TEST(FusedKernels, PartialsMatchFiniteDifferences) {
  const auto m = torch::tensor({-3.1, -1.2, -0.3, 0.0, 0.25, 0.9, 2.2, 4.0}, torch::kFloat64);
  const auto v = torch::tensor({0.02, 0.4, 1.0, 2.5, 0.1, 7.0, 0.6, 30.0}, torch::kFloat64);
  for (const auto act : fused_activations()) {
    const auto d = run_kernel<double>(false, act, m, v);
    const double h = 1e-6;
    const auto dm_plus = run_kernel<double>(false, act, m + h, v);
    const auto dm_minus = run_kernel<double>(false, act, m - h, v);
    const auto dv_plus = run_kernel<double>(false, act, m, v * (1 + h));
    const auto dv_minus = run_kernel<double>(false, act, m, v * (1 - h));
    for (int k = 0; k < 2; ++k) {  // k = 0: mean, 1: var
      const auto fd_m = (dm_plus[k] - dm_minus[k]) / (2 * h);
      const auto fd_v = (dv_plus[k] - dv_minus[k]) / (2 * h * v);
      const auto name = activation_name(act) + (k == 0 ? " mean" : " var");
      EXPECT_TRUE(torch::allclose(d[2 + k * 2], fd_m, 1e-6, 1e-8)) << name << " d/dm";
      EXPECT_TRUE(torch::allclose(d[3 + k * 2], fd_v, 1e-6, 1e-8)) << name << " d/dv";
    }
  }
}

// Gradients through smoothed_moments (fused) equal the reference's autograd
// gradients, first order and, through create_graph, second order; the
// variance may be a broadcast learned tau^2.
TEST(FusedKernels, AutogradMatchesTheReferenceToSecondOrder) {
  ASSERT_TRUE(fused_kernels());
  for (const auto act : fused_activations()) {
    const auto m0 = torch::linspace(-2.5, 3, 12, torch::kFloat64).reshape({3, 4});
    const auto v_leaf = torch::tensor({0.3}, torch::kFloat64).requires_grad_();
    std::vector<torch::Tensor> first, second, alone;
    for (const bool fused : {true, false}) {
      const auto m = m0.clone().requires_grad_();
      const auto v = v_leaf + 0.1 * m.detach().abs();  // broadcasts [1] against [3, 4]
      const auto o = fused ? smoothed_moments(act, m, v) : smoothed_moments_reference(act, m, v);
      // One output alone (the other's gradient stays undefined), with and
      // without a graph of the gradient.
      for (const bool graph : {false, true})
        for (const auto* out : {&o.mean, &o.var}) {
          const auto g1 =
              torch::autograd::grad({(*out * m.detach()).sum()}, {m, v_leaf}, {}, true, graph);
          alone.insert(alone.end(), g1.begin(), g1.end());
        }
      const auto loss = (o.mean * o.mean).sum() + (o.var * m.detach()).sum();
      const auto g = torch::autograd::grad({loss}, {m, v_leaf}, {}, true, true);
      const auto gg = torch::autograd::grad({g[0].square().sum() + g[1].sum()}, {m, v_leaf});
      first.insert(first.end(), g.begin(), g.end());
      second.insert(second.end(), gg.begin(), gg.end());
    }
    for (size_t i = 0; i < alone.size() / 2; ++i)
      EXPECT_TRUE(torch::allclose(alone[i], alone[i + alone.size() / 2], 1e-9, 1e-12))
          << activation_name(act) << " one output, gradient " << i;
    const auto name = activation_name(act);
    for (int i = 0; i < 2; ++i) {
      EXPECT_TRUE(torch::allclose(first[i], first[i + 2], 1e-9, 1e-12)) << name << " first " << i;
      EXPECT_TRUE(torch::allclose(second[i], second[i + 2], 1e-9, 1e-12))
          << name << " second " << i;
    }
  }
}

// A fit with the kernels ends where a fit with the reference ends.
TEST(FusedKernels, TrainingMatchesTheReference) {
  const auto data = find_task("smooth2d").generate(3);
  std::vector<torch::Tensor> predictions;
  for (const bool fused : {true, false}) {
    set_fused_kernels(fused);
    FitRequest r;
    r.model = resolve_model("gsnn", {{"width", 16}, {"tau_schedule", "learned"}});
    r.training.steps = 60;
    r.training.progress = false;
    const auto model = fit_model(data.train, data.validation, r).model;
    predictions.push_back(model.predict(data.find("test")->x).mean);
  }
  set_fused_kernels(true);
  EXPECT_TRUE(torch::allclose(predictions[0], predictions[1], 1e-5, 1e-5))
      << (predictions[0] - predictions[1]).abs().max().item<double>();
}

}  // namespace
}  // namespace gsnn
