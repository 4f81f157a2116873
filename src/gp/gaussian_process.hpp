// Exact Gaussian-process regression (seed 004's comparison model), as a model
// family fitted by its own method (ModelImpl::fits_directly):
//   k(a, b) = s2 exp(-|(a - b) / l|^2 / 2)   (RBF; one l per input with ARD)
//   y ~ N(0, K + (noise + jitter) I)          (zero prior mean, per output)
// Hyperparameters are fixed, or chosen by maximising the log marginal
// likelihood (ML-II): L-BFGS with a strong-Wolfe line search on
// log-parameters kept inside kGpBounds, from the given values and then from
// `restarts` log-uniform draws; the best likelihood wins. Every Cholesky
// factorisation starts without jitter and adds 1e-12, 1e-11, ... 1e-4 times
// the mean diagonal until it succeeds, else throws std::runtime_error. All
// computation is float64 (the family requires it). Memory: the n x n
// Cholesky factor (8 n^2 bytes) while predicting, four n x n matrices while
// maximising the likelihood; n is limited to kMaxGpPoints.
// Everything is in the units the Network hands over (standardised unless
// the training option `scaling` says otherwise).
#pragma once

#include <torch/arg.h>
#include <torch/types.h>

#include <mutex>
#include <utility>

#include "nn/model.hpp"

namespace gsnn {

struct GpOptions {
  GpOptions(int64_t inputs, int64_t outputs) : inputs_(inputs), outputs_(outputs) {}
  TORCH_ARG(int64_t, inputs);
  TORCH_ARG(int64_t, outputs);
  TORCH_ARG(double, length_scale) = 1.0;     // initial (or fixed) l, every input
  TORCH_ARG(double, signal_variance) = 1.0;  // initial (or fixed) s2
  TORCH_ARG(double, noise_variance) = 1e-2;  // initial (or fixed) white-noise variance
  TORCH_ARG(bool, ard) = true;               // one length scale per input
  TORCH_ARG(bool, optimize) = true;          // ML-II; false: the values above are kept
  TORCH_ARG(int64_t, restarts) = 2;          // extra random starts of the maximisation
  TORCH_ARG(int64_t, iterations) = 100;      // L-BFGS iterations per start
};

// Search box of the maximisation (and of loaded models' hyperparameters).
struct GpBounds {
  double lo, hi;
};
constexpr GpBounds kGpLengthScaleBounds{1e-5, 1e5}, kGpSignalBounds{1e-5, 1e5},
    kGpNoiseBounds{1e-15, 1e5};
constexpr int64_t kMaxGpPoints = 10000;

class GaussianProcessImpl : public ModelImpl {
 public:
  explicit GaussianProcessImpl(GpOptions options);

  Moments forward(const Moments& input) override;     // mean, latent var + noise
  Prediction predict(const Moments& input) override;  // extras: "latent_var"
  bool fits_directly() const override { return true; }
  void fit_directly(const torch::Tensor& x, const torch::Tensor& y, uint64_t seed) override;
  std::vector<std::string> data_sized_buffers() const override { return {"train_x", "alpha"}; }
  void check_weights() const override;

  // The log marginal likelihood of y [n, k] at x [n, d], summed over outputs,
  // at log-hyperparameters theta = (log l_1..l_L, log s2, log noise), and
  // (if `gradient`) its analytic gradient in theta:
  //   dLML/dtheta_j = 1/2 tr((alpha alpha^T - k K^-1) dK/dtheta_j).
  struct Likelihood {
    double value = 0;
    torch::Tensor gradient;  // [L + 2], undefined unless asked for
    double jitter = 0;       // added to the diagonal (see robust_cholesky)
    torch::Tensor factor;    // Cholesky factor of K + (noise + jitter) I, without gradient
  };
  Likelihood log_marginal_likelihood(const torch::Tensor& x, const torch::Tensor& y,
                                     const torch::Tensor& theta, bool gradient = false) const;
  torch::Tensor theta() const;  // current log-hyperparameters
  // The log marginal likelihood of the last fit.
  double fitted_log_likelihood() const { return log_likelihood_.item<double>(); }

  const GpOptions options;
  // Buffers (saved in model files): log length scales [L], log s2, log noise,
  // jitter, the training inputs [n, d], alpha = (K + noise I)^-1 y [n, k],
  // the log marginal likelihood of the fit.
  torch::Tensor log_length_scale, log_signal_variance, log_noise_variance, jitter, train_x, alpha,
      log_likelihood_;

 private:
  torch::Tensor kernel(const torch::Tensor& a, const torch::Tensor& b,
                       const torch::Tensor& theta) const;
  const torch::Tensor& cholesky() const;  // of the training kernel, computed once per fit/load
  mutable std::mutex cholesky_mutex_;
  mutable torch::Tensor cholesky_;
};

}  // namespace gsnn
