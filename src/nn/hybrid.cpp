// ReluPath, HybridLayer and the hybrid model (layer combinations and experts).
#include "nn/hybrid.hpp"

#include <torch/autograd.h>

#include <cmath>
#include <stdexcept>

namespace gsnn {
namespace {

// Tiny against any |output| sum: a share of two zero paths is 0, not NaN.
constexpr double kShareFloor = 1e-30;

const std::vector<std::pair<Combine, std::string>>& combine_table() {
  static const std::vector<std::pair<Combine, std::string>> t = {{Combine::Mix, "mix"},
                                                                 {Combine::Gate, "gate"},
                                                                 {Combine::Stabilise, "stabilise"},
                                                                 {Combine::Experts, "experts"}};
  return t;
}

torch::Tensor share(const torch::Tensor& gaussian, const torch::Tensor& relu) {
  const auto g = gaussian.abs().sum(1, true), r = relu.abs().sum(1, true);
  return g / (g + r).clamp_min(kShareFloor);
}

torch::Tensor column_of(double value, const torch::Tensor& like) {
  return torch::full({like.size(0), 1}, value, like.options());
}

}  // namespace

Combine parse_combine(const std::string& name) {
  for (const auto& [c, n] : combine_table())
    if (n == name) return c;
  throw std::invalid_argument("hybrid: unknown combine '" + name +
                              "' (known: mix, gate, stabilise, experts)");
}

std::string combine_name(Combine combine) {
  for (const auto& [c, n] : combine_table())
    if (c == combine) return n;
  throw std::logic_error("combine_name: unknown value");
}

std::vector<std::string> combine_names() {
  std::vector<std::string> names;
  for (const auto& entry : combine_table()) names.push_back(entry.second);
  return names;
}

Paths parse_paths(const std::string& name) {
  if (name == "both") return Paths::Both;
  if (name == "gaussian") return Paths::Gaussian;
  if (name == "relu") return Paths::Relu;
  throw std::invalid_argument("hybrid: unknown paths '" + name + "' (known: both, gaussian, relu)");
}

std::string paths_name(Paths paths) {
  return paths == Paths::Both ? "both" : paths == Paths::Gaussian ? "gaussian" : "relu";
}

ReluPathImpl::ReluPathImpl(int64_t inputs, int64_t outputs) {
  linear = register_module("linear", torch::nn::Linear(inputs, outputs));
}

Moments ReluPathImpl::forward(const Moments& input) {
  const auto pre = moments_affine(input, linear->weight, linear->bias);
  const auto on = pre.mean > 0;
  return {torch::relu(pre.mean), pre.var.defined() ? pre.var * on : torch::Tensor()};
}

HybridLayerImpl::HybridLayerImpl(int64_t inputs, const HybridOptions& o)
    : combine_(o.combine), paths_(o.paths) {
  const bool g = o.paths != Paths::Relu, r = o.paths != Paths::Gaussian;
  const int64_t w = o.width, rw = o.relu_units();
  auto smoothing = [&](int64_t in) {
    return register_module(
        "gaussian",
        GaussianSmoothing(GaussianSmoothingOptions(in, w).activation(o.activation).tau(o.tau)));
  };
  switch (o.combine) {
    case Combine::Mix:
      if (g) {
        gaussian = smoothing(inputs);
        mix_gaussian = register_module(
            "mix_gaussian", torch::nn::Linear(torch::nn::LinearOptions(w, w).bias(false)));
      }
      if (r) {
        relu = register_module("relu", ReluPath(inputs, rw));
        mix_relu = register_module("mix_relu",
                                   torch::nn::Linear(torch::nn::LinearOptions(rw, w).bias(false)));
      }
      break;
    case Combine::Gate:
      if (g) gaussian = smoothing(inputs);
      if (r) relu = register_module("relu", ReluPath(inputs, w));
      break;
    case Combine::Stabilise:
      if (r) relu = register_module("relu", ReluPath(inputs, w));
      if (g) gaussian = smoothing(r ? w : inputs);  // S smooths h_R; alone, the layer input
      break;
    case Combine::Experts:
      throw std::logic_error("HybridLayer: experts is a whole-network combination");
  }
}

HybridLayerOutput HybridLayerImpl::forward(const Moments& input) {
  const bool g = paths_ != Paths::Relu, r = paths_ != Paths::Gaussian;
  Moments hr, out;
  torch::Tensor gaussian_share;
  if (r) hr = relu(input);
  switch (combine_) {
    case Combine::Mix: {
      Moments a, b;
      if (g) a = moments_affine(gaussian(input), mix_gaussian->weight, {});
      if (r) b = moments_affine(hr, mix_relu->weight, {});
      out = g && r ? moments_sum(a, b) : g ? a : b;
      gaussian_share = g && r ? share(a.mean, b.mean) : column_of(g ? 1 : 0, out.mean);
      break;
    }
    case Combine::Gate:
      out = g && r ? moments_product(hr, gaussian(input)) : g ? gaussian(input) : hr;
      // The fraction of gates open to the Gaussian path (all without a ReLU
      // path, none without a Gaussian one).
      gaussian_share =
          g && r ? (hr.mean > 0).to(hr.mean.dtype()).mean(1, true) : column_of(g ? 1 : 0, out.mean);
      break;
    case Combine::Stabilise: {
      if (!g) {
        out = hr;
        gaussian_share = column_of(0, out.mean);
        break;
      }
      const auto s = gaussian(r ? hr : input);
      out = r ? moments_sum(hr, s) : s;
      gaussian_share = r ? share(s.mean, hr.mean) : column_of(1, out.mean);
      break;
    }
    case Combine::Experts:
      throw std::logic_error("HybridLayer: experts is a whole-network combination");
  }
  return {out, r ? hr.mean : torch::Tensor(), gaussian_share};
}

HybridImpl::HybridImpl(HybridOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  if (o.inputs < 1 || o.outputs < 1 || o.depth < 1 || o.width < 1 || o.relu_width < 0)
    throw std::invalid_argument("hybrid: inputs, outputs, depth and width must be >= 1");
  if ((o.combine == Combine::Gate || o.combine == Combine::Stabilise) && o.relu_width != 0 &&
      o.relu_width != o.width)
    throw std::invalid_argument("hybrid: combine=" + combine_name(o.combine) +
                                " works unit by unit: relu_width must equal width (or be 0)");
  const double w = o.width, r = o.relu_units(), in = o.inputs;
  // Every layer's weights at most: both paths from the wider of input and
  // width, the mixing maps (or S) and the gate network.
  check_parameter_count("hybrid",
                        o.depth * (std::max(in, w) * (w + r) + w * w + r * w + 2 * w + r) +
                            (w + r + 2) * o.outputs + (in + 2) * r);
  const bool g = o.paths != Paths::Relu, rl = o.paths != Paths::Gaussian;
  if (o.combine != Combine::Experts) {
    for (int64_t l = 0; l < o.depth; ++l)
      layers_.push_back(register_module("layer" + std::to_string(l),
                                        HybridLayer(l == 0 ? o.inputs : o.width, o)));
    readout_ = register_module("readout", GaussianLinear(o.width, o.outputs));
    return;
  }
  if (g) {
    for (int64_t l = 0; l < o.depth; ++l)
      gaussian_expert_.push_back(register_module(
          "gaussian_expert" + std::to_string(l),
          GaussianSmoothing(GaussianSmoothingOptions(l == 0 ? o.inputs : o.width, o.width)
                                .activation(o.activation)
                                .tau(o.tau))));
    gaussian_readout_ = register_module("gaussian_readout", GaussianLinear(o.width, o.outputs));
  }
  if (rl) {
    const int64_t rw = o.relu_units();
    for (int64_t l = 0; l < o.depth; ++l)
      relu_expert_.push_back(
          register_module("relu_expert" + std::to_string(l), ReluPath(l == 0 ? o.inputs : rw, rw)));
    relu_readout_ = register_module("relu_readout", torch::nn::Linear(rw, o.outputs));
  }
  if (g && rl) {
    gate_hidden_ = register_module("gate_hidden", torch::nn::Linear(o.inputs, o.relu_units()));
    gate_out_ = register_module("gate_out", torch::nn::Linear(o.relu_units(), 1));
  }
  expert_noise_rho_ = register_parameter(
      "expert_noise_rho", torch::full({2, o.outputs}, std::log(std::expm1(kExpertNoiseInit))));
}

std::vector<std::string> HybridImpl::penalty_names() const {
  std::vector<std::string> names;
  const bool both = options_.paths == Paths::Both;
  if (options_.combine == Combine::Experts && both) names = {"gate_entropy", "gate_balance"};
  if (options_.paths != Paths::Gaussian) names.push_back("smoothness");
  return names;
}

std::vector<ParameterGroup> HybridImpl::parameter_groups() {
  std::vector<ParameterGroup> groups = {{"gaussian", {}, true}, {"relu", {}, true},
                                        {"mix", {}, true},      {"readout", {}, true},
                                        {"gate", {}, true},     {"expert_noise", {}, false}};
  auto group_of = [](const std::string& key) -> size_t {
    auto has = [&](const char* part) { return key.find(part) != std::string::npos; };
    if (has("mix_")) return 2;
    if (has("gaussian")) return 0;
    if (has("relu")) return 1;
    if (has("readout")) return 3;
    if (has("gate")) return 4;
    return 5;  // expert_noise_rho
  };
  for (const auto& p : named_parameters())
    groups[group_of(p.key())].parameters.push_back(p.value());
  std::vector<ParameterGroup> nonempty;
  for (auto& g : groups)
    if (!g.parameters.empty()) nonempty.push_back(std::move(g));
  return nonempty;
}

Moments HybridImpl::forward(const Moments& input) { return predict(input).moments(); }

Prediction HybridImpl::predict(const Moments& input) {
  Moments x{input.mean.flatten(1), input.var.defined() ? input.var.flatten(1) : torch::Tensor()};
  // The smoothness penalty differentiates the ReLU path with respect to the input.
  if (penalty_requested("smoothness") && torch::GradMode::is_enabled() && !x.mean.requires_grad())
    x.mean = x.mean.detach().requires_grad_(true);
  auto p = options_.combine == Combine::Experts ? predict_experts(x) : predict_layers(x);
  if (is_training()) record_penalty("gate_usage", p.extras.at("gate").detach().mean());
  return p;
}

void HybridImpl::record_smoothness(const torch::Tensor& x, const torch::Tensor& relu_output) {
  if (!penalty_requested("smoothness") || !x.requires_grad() || !relu_output.defined()) return;
  // Summed over the batch, the gradient is still each sample's own.
  const auto grad = torch::autograd::grad({relu_output.sum()}, {x}, {}, true, true)[0];
  record_penalty("smoothness", grad.square().sum(1).mean());
}

Prediction HybridImpl::predict_layers(const Moments& x) {
  Moments h = x;
  torch::Tensor relu_sum;  // sum of every ReLU unit's output, for the smoothness penalty
  torch::Tensor share;
  for (auto& layer : layers_) {
    auto l = layer(h);
    h = l.out;
    share = l.gaussian_share;
    if (l.relu_output.defined())
      relu_sum = relu_sum.defined() ? relu_sum + l.relu_output.sum() : l.relu_output.sum();
  }
  record_smoothness(x.mean, relu_sum);
  Prediction p;
  const auto out = readout_(h);
  p.mean = out.mean;
  p.var = out.var;
  p.extras["gate"] = share;
  return p;
}

Prediction HybridImpl::predict_experts(const Moments& x) {
  const auto noise2 = torch::softplus(expert_noise_rho_).square().to(x.mean.dtype());
  Moments g, r;
  if (!gaussian_expert_.empty()) {
    g = x;
    for (auto& layer : gaussian_expert_) g = layer(g);
    g = gaussian_readout_(g);
    g.var = g.variance() + noise2[0];
  }
  if (!relu_expert_.empty()) {
    r = x;
    for (auto& layer : relu_expert_) r = layer(r);
    r = moments_affine(r, relu_readout_->weight, relu_readout_->bias);
    record_smoothness(x.mean, r.mean);
    r.var = r.variance() + noise2[1];
  }
  Prediction p;
  if (!r.mean.defined() || !g.mean.defined()) {
    const auto& only = g.mean.defined() ? g : r;
    p.mean = only.mean;
    p.var = only.var;
    p.extras["gate"] = column_of(g.mean.defined() ? 1 : 0, p.mean);
    return p;
  }
  const auto logit = gate_out_(torch::relu(gate_hidden_(x.mean)));
  const auto pi = torch::sigmoid(logit);
  p.mean = pi * g.mean + (1 - pi) * r.mean;
  // The mixture's variance, without the cancellation of E[y^2] - E[y]^2.
  p.var = pi * g.var + (1 - pi) * r.var + pi * (1 - pi) * (g.mean - r.mean).square();
  p.extras["gate"] = pi;
  p.extras["gate_logit"] = logit;
  p.extras["expert_mean"] = torch::stack({g.mean, r.mean}, 1);
  p.extras["expert_var"] = torch::stack({g.var, r.var}, 1);
  if (penalty_requested("gate_entropy")) {
    // log 2 - H(pi) >= 0, zero for an undecided gate; log-sigmoids keep it finite.
    const auto entropy = -(pi * torch::log_sigmoid(logit) + (1 - pi) * torch::log_sigmoid(-logit));
    record_penalty("gate_entropy", std::log(2.0) - entropy.mean());
  }
  if (penalty_requested("gate_balance"))  // squared coefficient of variation of the two loads
    record_penalty("gate_balance", 4 * (pi.mean() - 0.5).square());
  return p;
}

}  // namespace gsnn
