// ModelImpl defaults, count_parameters and the Network wrapper.
#include "nn/model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace gsnn {
namespace {
double inverse_softplus(double y) { return y > 30 ? y : std::log(std::expm1(y)); }
}  // namespace

int64_t ModelShape::inputs() const {
  int64_t n = 1;
  for (auto d : input_shape) n *= d;
  return n;
}

Prediction ModelImpl::predict(const Moments& input) {
  auto out = forward(input);
  return {out.mean, out.var, {}};
}

std::vector<ParameterGroup> ModelImpl::parameter_groups() {
  return {{"weights", parameters(), true}};
}

void ModelImpl::initialise(const torch::Tensor&, const torch::Tensor&) {}

std::pair<torch::Tensor, torch::Tensor> ModelImpl::forward_laplacian(const torch::Tensor&,
                                                                     const torch::Tensor&) {
  return {};
}

void ModelImpl::request_penalties(const std::vector<std::string>& names) {
  requested_penalties_ = names;
}

std::vector<std::pair<std::string, torch::Tensor>> ModelImpl::take_penalties() {
  return std::exchange(recorded_penalties_, {});
}

// Only in training mode: a trained model predicting (possibly from several
// threads) records nothing.
bool ModelImpl::penalty_requested(const std::string& name) const {
  return is_training() && std::find(requested_penalties_.begin(), requested_penalties_.end(),
                                    name) != requested_penalties_.end();
}

void ModelImpl::record_penalty(const std::string& name, const torch::Tensor& value) {
  if (!is_training()) return;
  for (auto& [n, v] : recorded_penalties_)
    if (n == name) {
      v = value;
      return;
    }
  recorded_penalties_.emplace_back(name, value);
}

void ModelImpl::fit_directly(const torch::Tensor&, const torch::Tensor&, uint64_t) {
  throw std::logic_error("fit_directly called on a model trained by gradient steps");
}

void check_parameter_budget(const std::string& family, int64_t inputs, int64_t width, int64_t depth,
                            int64_t outputs) {
  const double w = static_cast<double>(width);
  const double parameters =
      (inputs + 1.0) * w + (depth - 1.0) * (w + 1) * w + (w + 1) * static_cast<double>(outputs);
  check_parameter_count(family, parameters);
}

void check_parameter_count(const std::string& family, double count) {
  if (count > kMaxParameters)
    throw std::invalid_argument(family + ": " + std::to_string(static_cast<int64_t>(count)) +
                                " parameters is more than the limit of " +
                                std::to_string(static_cast<int64_t>(kMaxParameters)));
}

void check_sample_axes(const std::string& family, const std::vector<int64_t>& shape, size_t axes,
                       const std::string& what, const std::string& example) {
  if (shape.size() == axes) return;
  std::string text;
  for (auto s : shape) text += (text.empty() ? "" : ", ") + std::to_string(s);
  throw std::invalid_argument(family + ": needs " + what + " (e.g. the " + example +
                              " task); these samples have shape [" + text + "]");
}

torch::Tensor reference_tensor(const torch::nn::Module& module) {
  const auto params = module.parameters();
  if (!params.empty()) return params.front();
  const auto buffers = module.buffers();
  if (buffers.empty()) throw std::logic_error("a model without parameters or buffers");
  return buffers.front();
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters())
    if (p.requires_grad()) total += p.numel();
  return total;
}

NetworkImpl::NetworkImpl(ModelPtr body, const ModelShape& shape, bool regression,
                         double initial_noise_std)
    : body_(std::move(body)), shape_(shape), regression_(regression) {
  if (shape.input_shape.empty() || shape.inputs() < 1 || shape.outputs < 1)
    throw std::invalid_argument("network: empty input shape or no outputs");
  register_module("body", body_);
  input_mean_ = register_buffer("input_mean", torch::zeros(shape.input_shape));
  input_scale_ = register_buffer("input_scale", torch::ones(shape.input_shape));
  if (!regression) return;
  if (!(initial_noise_std > 0)) throw std::invalid_argument("initial noise std must be > 0");
  target_mean_ = register_buffer("target_mean", torch::zeros({shape.outputs}));
  target_scale_ = register_buffer("target_scale", torch::ones({shape.outputs}));
  noise_rho_ =
      register_parameter("noise_rho", torch::full({1}, inverse_softplus(initial_noise_std)));
}

void NetworkImpl::set_scaling(const torch::Tensor& input_mean, const torch::Tensor& input_scale,
                              const torch::Tensor& target_mean, const torch::Tensor& target_scale) {
  torch::NoGradGuard guard;
  input_mean_.copy_(input_mean.reshape(input_mean_.sizes()));
  input_scale_.copy_(input_scale.reshape(input_scale_.sizes()));
  if (!regression_) return;
  target_mean_.copy_(target_mean.reshape(target_mean_.sizes()));
  target_scale_.copy_(target_scale.reshape(target_scale_.sizes()));
}

std::vector<torch::Tensor> NetworkImpl::scaling() const {
  return {input_mean_, input_scale_, target_mean_, target_scale_};
}

namespace {
// Scaling arithmetic runs in float64 whatever the model's dtype: raw values
// far from zero (1e7 + small changes) keep their precision.
torch::Tensor f64(const torch::Tensor& t) { return t.to(torch::kFloat64); }
}  // namespace

Prediction NetworkImpl::forward(const torch::Tensor& x, const torch::Tensor& x_var) {
  Moments in{scale_inputs(x), {}};
  if (x_var.defined())
    in.var =
        (f64(x_var) / f64(input_scale_).square()).to(input_scale_.scalar_type()).expand_as(in.mean);
  auto out = body_->predict(in);
  if (regression_) {
    const auto noise = noise_std().to(out.mean.dtype());
    out.var = moments_add_variance(out.moments(), noise * noise).var;
  }
  return out;
}

Prediction NetworkImpl::predict(const torch::Tensor& x, const torch::Tensor& x_var) {
  auto out = forward(x, x_var);
  if (!regression_) return out;
  out.mean = f64(out.mean) * f64(target_scale_) + f64(target_mean_);
  out.var = f64(out.var) * f64(target_scale_).square();
  return out;
}

std::pair<torch::Tensor, torch::Tensor> NetworkImpl::value_and_laplacian(const torch::Tensor& x) {
  if (shape_.input_shape.size() != 1) return {};
  // z = (x - mean) / scale, so d2/dx_i2 = d2/dz_i2 / scale_i^2.
  const auto w = (1 / f64(input_scale_).square()).to(input_scale_.scalar_type());
  return body_->forward_laplacian(scale_inputs(x), w);
}

torch::Tensor NetworkImpl::scale_inputs(const torch::Tensor& x) const {
  return ((f64(x) - f64(input_mean_)) / f64(input_scale_)).to(input_scale_.scalar_type());
}

torch::Tensor NetworkImpl::scale_targets(const torch::Tensor& y) const {
  if (!regression_) return y;
  return ((f64(y) - f64(target_mean_)) / f64(target_scale_)).to(target_scale_.scalar_type());
}

torch::Tensor NetworkImpl::noise_std() const {
  if (!regression_) throw std::logic_error("noise_std: not a regression network");
  return torch::softplus(noise_rho_);
}

void NetworkImpl::set_noise_std(double value) {
  torch::NoGradGuard guard;
  noise_rho_.fill_(inverse_softplus(std::max(value, 1e-8)));
}

std::vector<ParameterGroup> NetworkImpl::parameter_groups() {
  auto groups = body_->parameter_groups();
  if (regression_) groups.push_back({"noise", {noise_rho_}, false});
  return groups;
}

}  // namespace gsnn
