// The interface every gsnn model family implements (a body: input moments ->
// output moments, in standardised units), and the Network that wraps a body
// with the data's scaling and, for regression, a learned output noise. The
// trainer, the objectives and the model files all work on a Network.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "moments/moments.hpp"

namespace gsnn {

// What a model returns: the output moments (regression means or class
// logits, with their variance; an undefined var is zero) and whatever else
// a family reports, e.g. "gate" values or per-expert moments.
struct Prediction {
  torch::Tensor mean;
  torch::Tensor var;
  std::map<std::string, torch::Tensor> extras;
  Moments moments() const { return {mean, var}; }
};

// Parameters that train together: their own learning-rate multiplier and
// freezing (TrainOptions::group_lr, ::freeze) address them by name.
struct ParameterGroup {
  std::string name;
  std::vector<torch::Tensor> parameters;
  bool weight_decay = true;  // scale parameters (tau, noise) are not decayed
};

// What a body is built for: the per-sample input shape and the output count
// (regression targets or classes).
struct ModelShape {
  std::vector<int64_t> input_shape;
  int64_t outputs = 1;
  int64_t inputs() const;  // product of input_shape (features of a flattened sample)
};

class ModelImpl : public torch::nn::Module {
 public:
  // input: [batch, input_shape...] moments in standardised units; returns
  // [batch, outputs].
  virtual Moments forward(const Moments& input) = 0;
  // forward() plus the family's extras (gates, experts); default: none.
  virtual Prediction predict(const Moments& input);
  // Default: one group "weights" with every parameter.
  virtual std::vector<ParameterGroup> parameter_groups();
  // Data-dependent initialisation before training (e.g. k-means++ centres),
  // on the standardised training data. Default: nothing.
  virtual void initialise(const torch::Tensor& x, const torch::Tensor& y);
  // Called by the trainer, without gradients, before each step of a gradient
  // optimiser (not L-BFGS): data-dependent updates while training (a KAN's
  // grid). `inputs()` gives that step's standardised training inputs, computed
  // only when called, so a model that does nothing costs the step nothing.
  // Default: nothing.
  virtual void before_step(int64_t /*step*/, const std::function<torch::Tensor()>& /*inputs*/) {}
  // A family fitted otherwise than by gradient steps (e.g. a GP maximising its
  // likelihood) returns true here and does it in fit_directly(), on the
  // standardised training data. Its output variance is then the whole
  // predictive variance: the Network's noise is set to (almost) zero.
  virtual bool fits_directly() const { return false; }
  virtual void fit_directly(const torch::Tensor& x, const torch::Tensor& y, uint64_t seed);
  // Buffers whose shape follows the training data (e.g. a GP's training
  // points): model files restore them at the stored shape.
  virtual std::vector<std::string> data_sized_buffers() const { return {}; }
  // Checks loaded weights beyond shape and finiteness (e.g. tau^2 >= 0);
  // throws std::runtime_error naming the tensor. Default: nothing to check.
  virtual void check_weights() const {}
  // The "forward Laplacian" (Li et al. 2023): the output u [n, outputs] and
  // sum_i w_i d2u/dz_i2 for standardised inputs z [n, d] and weights w [d],
  // in one forward pass that autograd differentiates once (no nested
  // gradients). Families without it return undefined tensors; callers then
  // take the Laplacian by nested autograd (pde/objective.hpp).
  virtual std::pair<torch::Tensor, torch::Tensor> forward_laplacian(const torch::Tensor& z,
                                                                    const torch::Tensor& w);

  // Training penalties, as Keras's add_loss: the names a family offers (e.g.
  // "gate_entropy"). The trainer requests some (TrainOptions::penalty); each
  // forward pass in training mode then records them, and take_penalties()
  // hands over what the last pass recorded: the requested penalties and any
  // diagnostics the family always records (e.g. "gate_usage"), which go into
  // learning curves and are never minimised.
  virtual std::vector<std::string> penalty_names() const { return {}; }
  virtual void request_penalties(const std::vector<std::string>& names);
  virtual std::vector<std::pair<std::string, torch::Tensor>> take_penalties();

 protected:
  bool penalty_requested(const std::string& name) const;
  void record_penalty(const std::string& name, const torch::Tensor& value);  // replaces a namesake

 private:
  std::vector<std::string> requested_penalties_;
  std::vector<std::pair<std::string, torch::Tensor>> recorded_penalties_;
};
using ModelPtr = std::shared_ptr<ModelImpl>;

// A tensor of the module that tells its device and floating type: its first
// parameter, else its first buffer (a GP fitted directly has no parameter).
torch::Tensor reference_tensor(const torch::nn::Module& module);

// Number of trainable scalars (parameters with requires_grad).
int64_t count_parameters(const torch::nn::Module& module);

// Size limits checked before anything is allocated (documented in docs/security.md).
constexpr int64_t kMaxDepth = 1024;
constexpr int64_t kMaxWidth = 1 << 16;
constexpr double kMaxParameters = 1 << 28;  // ~1 GiB of float32 weights
// Throws std::invalid_argument if a stack of `depth` hidden layers of `width`
// units between `inputs` and `outputs` has more than kMaxParameters weights.
void check_parameter_budget(const std::string& family, int64_t inputs, int64_t width, int64_t depth,
                            int64_t outputs);
// Throws std::invalid_argument if `count` (computed in double) is more than kMaxParameters.
void check_parameter_count(const std::string& family, double count);
// Throws std::invalid_argument unless samples of `shape` have `axes` axes:
// "<family>: needs <what> (e.g. the <example> task); these samples have shape [...]".
void check_sample_axes(const std::string& family, const std::vector<int64_t>& shape, size_t axes,
                       const std::string& what, const std::string& example);

// A body with the data's scaling as buffers (so derivatives with respect to
// raw inputs come out of autograd directly) and, for regression, the output
// noise sigma_n = softplus(noise_rho): the predictive distribution is
// N(mean, var + sigma_n^2).
class NetworkImpl : public torch::nn::Module {
 public:
  // regression: targets are standardised and a noise is learned; otherwise
  // the outputs are taken as they are (class logits).
  NetworkImpl(ModelPtr body, const ModelShape& shape, bool regression, double initial_noise_std);

  // Raw inputs (and optionally their raw variance) -> prediction in
  // standardised target units: what objectives compare with scale_targets(y).
  Prediction forward(const torch::Tensor& x, const torch::Tensor& x_var = {});
  // The same in the targets' own units.
  Prediction predict(const torch::Tensor& x, const torch::Tensor& x_var = {});
  torch::Tensor scale_inputs(const torch::Tensor& x) const;  // raw -> standardised
  // Deterministic output and its Laplacian with respect to the raw inputs x
  // [n, d] (in the units forward() returns), by the body's forward
  // Laplacian; undefined tensors if the body has none.
  std::pair<torch::Tensor, torch::Tensor> value_and_laplacian(const torch::Tensor& x);
  torch::Tensor scale_targets(const torch::Tensor& y) const;  // raw -> standardised

  // Per-feature input and per-target output scaling (mean, scale > 0).
  void set_scaling(const torch::Tensor& input_mean, const torch::Tensor& input_scale,
                   const torch::Tensor& target_mean, const torch::Tensor& target_scale);
  std::vector<torch::Tensor> scaling() const;  // input_mean, input_scale, target_mean, target_scale

  bool regression() const { return regression_; }
  const ModelShape& shape() const { return shape_; }
  torch::Tensor noise_std() const;  // regression only
  void set_noise_std(double value);
  std::vector<ParameterGroup> parameter_groups();  // the body's, plus "noise"
  ModelImpl& body() { return *body_; }

 private:
  ModelPtr body_;
  ModelShape shape_;
  bool regression_;
  torch::Tensor input_mean_, input_scale_, target_mean_, target_scale_, noise_rho_;
};
TORCH_MODULE(Network);

}  // namespace gsnn
