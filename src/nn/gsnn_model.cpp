// GsnnImpl: the layer stack, tau schedules and residual connections.
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

}  // namespace gsnn
