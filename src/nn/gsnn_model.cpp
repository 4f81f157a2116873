// GsnnImpl: the layer stack, tau schedules and residual connections.
#include "nn/gsnn_model.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#include "nn/forward_laplacian.hpp"

namespace gsnn {

TauSchedule parse_tau_schedule(const std::string& name) {
  if (name == "constant") return TauSchedule::Constant;
  if (name == "geometric") return TauSchedule::Geometric;
  if (name == "learned") return TauSchedule::Learned;
  throw std::invalid_argument("unknown tau schedule '" + name +
                              "' (known: constant, geometric, learned)");
}

GsnnImpl::GsnnImpl(GsnnOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  if (o.inputs < 1 || o.outputs < 1 || o.depth < 1 || o.width < 1)
    throw std::invalid_argument("gsnn: inputs, outputs, depth and width must be >= 1");
  if (!(o.tau >= 0) || !(o.tau_ratio > 0))
    throw std::invalid_argument("gsnn: tau must be >= 0 and tau_ratio > 0");
  check_parameter_budget("gsnn", o.inputs, o.width, o.depth, o.outputs);
  for (int64_t l = 0; l < o.depth; ++l) {
    const double tau =
        o.tau_schedule == TauSchedule::Geometric ? o.tau * std::pow(o.tau_ratio, l) : o.tau;
    auto layer = GaussianSmoothingOptions(l == 0 ? o.inputs : o.width, o.width)
                     .activation(o.activation)
                     .tau(tau)
                     .learn_tau(o.tau_schedule == TauSchedule::Learned)
                     .tau_per_unit(o.tau_per_unit)
                     .mean_only(o.mean_only);
    hidden_.push_back(register_module("hidden" + std::to_string(l), GaussianSmoothing(layer)));
  }
  readout_ = register_module("readout", GaussianLinear(o.width, o.outputs));
}

void GsnnImpl::check_weights() const {
  for (size_t l = 0; l < hidden_.size(); ++l)
    if (!(hidden_[l]->tau_squared() >= 0).all().item<bool>())
      throw std::runtime_error("tensor 'body.hidden" + std::to_string(l) +
                               ".tau_squared' is negative (a variance)");
}

torch::Tensor GsnnImpl::tau_squared(int64_t layer) const {
  return hidden_.at(layer)->tau_squared();
}

std::vector<ParameterGroup> GsnnImpl::parameter_groups() {
  ParameterGroup weights{"weights", {}, true}, tau{"tau", {}, false};
  for (const auto& p : named_parameters()) {
    const bool is_tau = p.key().size() >= 7 && p.key().substr(p.key().size() - 7) == "tau_rho";
    (is_tau ? tau : weights).parameters.push_back(p.value());
  }
  std::vector<ParameterGroup> groups = {weights};
  if (!tau.parameters.empty()) groups.push_back(tau);
  return groups;
}

Moments GsnnImpl::forward(const Moments& input) {
  Moments x{input.mean.flatten(1), input.var.defined() ? input.var.flatten(1) : torch::Tensor()};
  for (int64_t l = 0; l < options_.depth; ++l) {
    auto out = hidden_[l]->forward(x);
    // widths match from the second layer on
    x = options_.residual && l > 0 ? moments_sum(out, x) : out;
  }
  return readout_->forward(x);
}

namespace {

// First and second partial derivatives of an elementwise map f(m, v), by
// autograd on the map alone (cheap elementwise passes), kept in the graph so
// that training differentiates through them. Without v (a constant
// variance) only the m-derivatives are taken; missing ones are zero.
struct Partials {
  torch::Tensor m, v, mm, mv, vv;
};

Partials partials(const torch::Tensor& f, const torch::Tensor& m, const torch::Tensor& v) {
  auto grad = [&](const torch::Tensor& y, bool with_v) {
    std::vector<torch::Tensor> out(2);
    if (!y.requires_grad()) return out;  // a constant: derivatives zero
    std::vector<torch::Tensor> at = {m};
    if (with_v) at.push_back(v);
    auto g = torch::autograd::grad({y.sum()}, at, {}, true, true, true);
    for (size_t i = 0; i < g.size(); ++i) out[i] = g[i];
    return out;
  };
  auto zero_if_missing = [&](torch::Tensor& t) {
    if (!t.defined()) t = torch::zeros_like(m);
  };
  const bool with_v = v.defined();
  Partials p;
  const auto first = grad(f, with_v);
  p.m = first[0], p.v = first[1];
  zero_if_missing(p.m);
  auto second = grad(p.m, with_v);
  p.mm = second[0], p.mv = second[1];
  if (with_v) {
    zero_if_missing(p.v);
    if (p.v.requires_grad())  // with respect to v alone
      p.vv = torch::autograd::grad({p.v.sum()}, {v}, {}, true, true, true)[0];
  }
  for (auto* t : {&p.v, &p.mm, &p.mv, &p.vv}) zero_if_missing(*t);
  return p;
}

// What flows through the mean path: the mean and the variance, each with its
// input Jacobian and Laplacian (LaplacianState). The variance is absent
// (undefined h) while it is still the inputs' zero.
struct MomentStates {
  LaplacianState mean, var;
};

LaplacianState affine(const LaplacianState& s, const torch::Tensor& weight) {
  const auto wt = weight.t();
  return {torch::matmul(s.h, wt), s.jac.matmul(wt), s.lap.matmul(wt)};
}

// The weighted products of the input gradients of m and v that the chain
// rule needs, computed once per layer for the mean and the variance alike.
struct GradientProducts {
  torch::Tensor mm, mv, vv;  // sum_i w_i dm_i dm_i, dm_i dv_i, dv_i dv_i
  GradientProducts(const LaplacianState& m, const LaplacianState& v, const torch::Tensor& w) {
    const auto wv = w.view({1, -1, 1});
    mm = (m.jac.square() * wv).sum(1);
    if (!v.jac.defined()) return;
    mv = (m.jac * v.jac * wv).sum(1);
    vv = (v.jac.square() * wv).sum(1);
  }
};

// Through f(m, v) = (value) by the chain rule, for inputs weighted by w:
//   grad f = f_m grad m + f_v grad v,
//   lap f  = f_m lap m + f_v lap v + f_mm |grad m|^2 + 2 f_mv grad m . grad v + f_vv |grad v|^2.
LaplacianState chain(const torch::Tensor& value, const Partials& p, const LaplacianState& m,
                     const LaplacianState& v, const GradientProducts& g) {
  auto jac = p.m.unsqueeze(1) * m.jac;
  auto lap = p.m * m.lap + p.mm * g.mm;
  if (v.jac.defined()) {
    jac = jac + p.v.unsqueeze(1) * v.jac;
    lap = lap + p.v * v.lap + 2 * p.mv * g.mv + p.vv * g.vv;
  }
  return {value, jac, lap};
}

LaplacianState sum(const LaplacianState& a, const LaplacianState& b) {
  if (!a.h.defined()) return b;
  if (!b.h.defined()) return a;
  return {a.h + b.h, a.jac + b.jac, a.lap + b.lap};
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> GsnnImpl::forward_laplacian(const torch::Tensor& z,
                                                                    const torch::Tensor& w) {
  torch::AutoGradMode enable(true);  // the elementwise partials are taken by autograd
  MomentStates x{LaplacianState::at_inputs(z), {}};
  for (int64_t l = 0; l < options_.depth; ++l) {
    const auto& layer = hidden_[l];
    const auto& weight = layer->linear->weight;
    auto m = affine(x.mean, weight);
    m.h = m.h + layer->linear->bias;
    const auto tau2 = layer->tau_squared().to(m.h.dtype());
    LaplacianState v;
    if (x.var.h.defined()) {
      v = affine(x.var, weight * weight);
      v.h = v.h + tau2;
    } else {
      v.h = tau2.expand_as(m.h);  // constant: no Jacobian
    }
    // Leaves where nothing upstream requires gradients (evaluation), so that
    // autograd can still take the elementwise partials.
    if (!m.h.requires_grad()) m.h = m.h.detach().requires_grad_(true);
    const bool v_varies = v.jac.defined();
    if (v_varies && !v.h.requires_grad()) v.h = v.h.detach().requires_grad_(true);
    const auto vin = v_varies ? v.h : torch::Tensor();
    MomentStates out;
    if (options_.mean_only) {  // the mean never depends on the variance: not carried
      const auto mean = activate(options_.activation, m.h);
      out.mean = chain(mean, partials(mean, m.h, {}), m, {}, GradientProducts(m, {}, w));
    } else {
      const auto moments = smoothed_moments(options_.activation, m.h, v.h);
      const GradientProducts products(m, v, w);
      out.mean = chain(moments.mean, partials(moments.mean, m.h, vin), m, v, products);
      if (l + 1 < options_.depth)  // the read-out takes the last layer's mean only
        out.var = chain(moments.var, partials(moments.var, m.h, vin), m, v, products);
    }
    x = options_.residual && l > 0 ? MomentStates{sum(out.mean, x.mean), sum(out.var, x.var)} : out;
  }
  auto u = affine(x.mean, readout_->linear->weight);
  return {u.h + readout_->linear->bias, u.lap};
}

}  // namespace gsnn
