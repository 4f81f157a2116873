// Hybrid Gaussian-ReLU networks (seed 001): a Gaussian path (GSNN layers,
// variances carried) and a ReLU path (affine + ReLU on the mean) in parallel.
// Per hidden layer, with input h and the paths' outputs h_G, h_R:
//   mix        h' = A_G h_G + A_R h_R                (A_* learned, no bias)
//   gate       h' = h_R (.) h_G                      (the ReLU output gates: 0 where its regime is
//   off) stabilise  h' = h_R + S(h_R)                     (S a Gaussian-smoothing layer on h_R)
// and, as a whole-network combination,
//   experts    a Gaussian expert (GSNN) and a ReLU expert (MLP) mixed by a
//              gate pi(x) = sigmoid(ReLU layer -> linear): the prediction is
//              the two-component mixture (docs/hybrid.md has the algebra).
// Variances: the Moments algebra under independence of the two paths; the
// ReLU path carries v -> 1[m > 0] (W o W) v (first order, exact for
// deterministic inputs). `paths` switches one path off: its contribution
// becomes the combination's neutral element, so the hybrid reduces to the
// other path (tests/hybrid_test.cpp).
#pragma once

#include <string>
#include <vector>

#include "nn/gaussian_linear.hpp"
#include "nn/gaussian_smoothing.hpp"
#include "nn/model.hpp"

namespace gsnn {

enum class Combine { Mix, Gate, Stabilise, Experts };
enum class Paths { Both, Gaussian, Relu };

Combine parse_combine(const std::string& name);
std::string combine_name(Combine combine);
std::vector<std::string> combine_names();
Paths parse_paths(const std::string& name);
std::string paths_name(Paths paths);

// The defaults here are the registry's defaults (nn/families.cpp reads them).
struct HybridOptions {
  int64_t inputs = 1;
  int64_t outputs = 1;
  int64_t depth = 2;       // hidden layers (of each expert, for experts)
  int64_t width = 32;      // Gaussian-path units per layer (and the layer's output width)
  int64_t relu_width = 0;  // ReLU-path units, 0 = width (gate and stabilise need = width)
  Combine combine = Combine::Mix;
  Paths paths = Paths::Both;
  Activation activation = Activation::ErfTanh;  // of the Gaussian path
  double tau = 0.5;                             // smoothing std of the Gaussian path
  int64_t relu_units() const { return relu_width > 0 ? relu_width : width; }
};

// ReLU on the mean of an affine map, variance to first order.
class ReluPathImpl : public torch::nn::Module {
 public:
  ReluPathImpl(int64_t inputs, int64_t outputs);
  Moments forward(const Moments& input);
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(ReluPath);

// What a hybrid layer returns: its output moments, the ReLU path's output
// (undefined without one) and the Gaussian path's share [n, 1] (see
// HybridImpl::predict's "gate"). Returned, not stored: a model predicts
// from several threads.
struct HybridLayerOutput {
  Moments out;
  torch::Tensor relu_output, gaussian_share;
};

// One hidden layer of the mix, gate or stabilise combination.
class HybridLayerImpl : public torch::nn::Module {
 public:
  HybridLayerImpl(int64_t inputs, const HybridOptions& options);
  HybridLayerOutput forward(const Moments& input);

  GaussianSmoothing gaussian{nullptr};
  ReluPath relu{nullptr};
  torch::nn::Linear mix_gaussian{nullptr}, mix_relu{nullptr};  // A_G, A_R (mix only)

 private:
  Combine combine_;
  Paths paths_;
};
TORCH_MODULE(HybridLayer);

// Expert-noise std every expert starts with (standardised units; the
// default of TrainOptions::noise_init).
constexpr double kExpertNoiseInit = 0.1;

class HybridImpl : public ModelImpl {
 public:
  explicit HybridImpl(HybridOptions options);
  Moments forward(const Moments& input) override;
  // extras: "gate" [n, 1] (experts: pi(x), the Gaussian expert's weight;
  // mix, stabilise: the Gaussian path's share of the last hidden layer's
  // summed |output|; gate: the fraction of its ReLU gates that are open);
  // experts also "gate_logit" [n, 1], "expert_mean" and "expert_var"
  // [n, 2, outputs] (Gaussian expert first; variances include each
  // expert's own noise).
  Prediction predict(const Moments& input) override;
  // "gaussian" (Gaussian path or expert, tau), "relu", "mix" (A_G, A_R),
  // "gate" (experts' gate network), "expert_noise".
  std::vector<ParameterGroup> parameter_groups() override;
  std::vector<std::string> penalty_names() const override;
  const HybridOptions& options() const { return options_; }

 private:
  Prediction predict_layers(const Moments& input);
  Prediction predict_experts(const Moments& input);
  void record_smoothness(const torch::Tensor& x, const torch::Tensor& relu_output);

  HybridOptions options_;
  std::vector<HybridLayer> layers_;  // mix, gate, stabilise
  GaussianLinear readout_{nullptr};
  // experts
  std::vector<GaussianSmoothing> gaussian_expert_;
  GaussianLinear gaussian_readout_{nullptr};
  std::vector<ReluPath> relu_expert_;
  torch::nn::Linear relu_readout_{nullptr}, gate_hidden_{nullptr}, gate_out_{nullptr};
  torch::Tensor expert_noise_rho_;  // [2, outputs]
};
TORCH_MODULE(Hybrid);

}  // namespace gsnn
