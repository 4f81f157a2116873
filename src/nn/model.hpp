// The interface every gsnn model family implements, and the predictive
// wrapper that adds a learned output noise. A model maps input moments
// (mean, var) to output moments; deterministic models return var = 0.
#pragma once

#include <torch/nn/module.h>

#include <memory>

#include "moments/moments.hpp"

namespace gsnn {

class ModelImpl : public torch::nn::Module {
 public:
  // input.mean and input.var: [batch, inputs]; returns [batch, outputs] each.
  virtual Moments forward(const Moments& input) = 0;
};
using ModelPtr = std::shared_ptr<ModelImpl>;

// Number of trainable scalars (parameters with requires_grad).
int64_t count_parameters(const torch::nn::Module& module);

// A model plus a learned homoscedastic output noise sigma_n = softplus(rho):
// the predictive distribution is N(mean, var + sigma_n^2).
class RegressorImpl : public torch::nn::Module {
 public:
  RegressorImpl(ModelPtr body, double initial_noise_std);
  Moments forward(const Moments& input);
  // Convenience: inputs with zero variance.
  Moments forward(const torch::Tensor& input_mean);
  torch::Tensor noise_std() const;
  void set_noise_std(double value);
  ModelImpl& body() { return *body_; }

 private:
  ModelPtr body_;
  torch::Tensor noise_rho_;
};
TORCH_MODULE(Regressor);

}  // namespace gsnn
