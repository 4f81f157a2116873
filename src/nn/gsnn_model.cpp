// GsnnImpl: layer stack, tau schedules and the mean-only ablation.
#include "nn/gsnn_model.hpp"

#include <cmath>
#include <stdexcept>

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
  if (o.tau_schedule == TauSchedule::Learned && !(o.tau > 0))
    throw std::invalid_argument("gsnn: a learned tau needs an initial tau > 0");
  for (int64_t l = 0; l < o.depth; ++l) {
    hidden_.push_back(register_module("hidden" + std::to_string(l),
                                      GaussianLinear(l == 0 ? o.inputs : o.width, o.width)));
  }
  readout_ = register_module("readout", GaussianLinear(o.width, o.outputs));

  auto taus = torch::full({o.depth, o.tau_per_unit ? o.width : 1}, o.tau);
  if (o.tau_schedule == TauSchedule::Geometric)
    taus *= torch::pow(o.tau_ratio, torch::arange(o.depth).to(torch::kFloat32)).unsqueeze(1);
  if (o.tau_schedule == TauSchedule::Learned) {
    // inverse softplus, so that softplus(param) starts at tau
    tau_param_ = register_parameter(
        "tau_rho", torch::where(taus > 20, taus, torch::log(torch::expm1(taus.clamp_max(20)))));
  } else {
    tau_param_ = register_buffer("tau_squared", taus * taus);
  }
}

torch::Tensor GsnnImpl::tau_squared(int64_t layer) const {
  const auto row = tau_param_[layer];
  if (options_.tau_schedule != TauSchedule::Learned) return row;
  const auto tau = torch::softplus(row);
  return tau * tau;
}

Moments GsnnImpl::forward(const Moments& input) {
  Moments x = input;
  for (int64_t l = 0; l < options_.depth; ++l) {
    auto pre = hidden_[l]->forward(x);
    pre.var = pre.var + tau_squared(l).to(pre.var.dtype());
    Moments act = options_.mean_only ? Moments{activate(options_.activation, pre.mean), pre.var}
                                     : smoothed_moments(options_.activation, pre.mean, pre.var);
    if (options_.residual && l > 0) {  // widths match from the second layer on
      act.mean = act.mean + x.mean;
      act.var = act.var + x.var;
    }
    x = act;
  }
  return readout_->forward(x);
}

}  // namespace gsnn
