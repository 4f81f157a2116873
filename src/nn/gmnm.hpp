// Gaussian mixture-inspired nonlinear module (GMNM, seed 002 section 3).
// Component j of m, for an input x in R^d:
//   z = x - mu_j,  r = A_j z + b_j  (A_j is k x d),  q_j = sum_n alpha_{j,n}^2 r_n^2,
//   f_j = exp(-q_j / 2),            y = sum_j pi_j f_j + beta   (pi is m x outputs).
// A_j replaces Sigma^{-1/2}, so no positive-definiteness has to be kept, and
// pi is unconstrained (the paper's relaxed mixture, no normalising constant).
// alpha enters squared so that q_j >= 0 and f_j <= 1 (an unconstrained alpha
// lets q_j go negative and f_j overflow). rank = 1 is the paper's literal
// single projection exp(-(alpha (a.z + b))^2 / 2), a Gaussian ridge.
//
// Memory: the forward pass holds r [points, m, k] and q, f [points, m];
// training keeps about 2k + 2 scalars per point and component for the
// backward pass. Without gradients the points are processed in chunks of at
// most kChunkElements / (m k), so prediction on 10^5 points x 900 components
// needs a few hundred MB at most. Usable as a layer in any LibTorch model.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string>

#include "nn/centres.hpp"

namespace gsnn {

struct GmnmOptions {
  GmnmOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(int64_t, components) = 64;  // m
  TORCH_ARG(int64_t, rank) = 0;         // projections per component; 0 = in_features
  // Until initialise() sees data, centres are uniform on [-1, 1]^d.
  TORCH_ARG(CentreInit, centre_init) = CentreInit::KMeansPlusPlus;
  TORCH_ARG(bool, learn_centres) = true;
  // A_j starts as init_scale * (m^(1/d) / 3.46) times an identity (rank = d)
  // or random unit rows: about one component spacing for m components over
  // a standardised box of side 2 sqrt(3).
  TORCH_ARG(double, init_scale) = 1.0;
};

class GmnmImpl : public torch::nn::Module {
 public:
  explicit GmnmImpl(GmnmOptions options);
  torch::Tensor forward(const torch::Tensor& x);  // [batch, in] -> [batch, out]
  // Output and sum_i w_i d2y/dx_i2 in closed form: with g_j = A_j^T diag(alpha_j^2) r_j,
  // grad f_j = -f_j g_j and Lap_w f_j = f_j (sum_i w_i g_ji^2 - sum_i w_i (A_j^T diag(alpha_j^2)
  // A_j)_ii).
  std::pair<torch::Tensor, torch::Tensor> forward_laplacian(const torch::Tensor& x,
                                                            const torch::Tensor& w);
  // Data-dependent start: centres chosen from x [n, in] by options.centre_init.
  void initialise(const torch::Tensor& x);
  int64_t rank() const { return options.rank() > 0 ? options.rank() : options.in_features(); }

  GmnmOptions options;
  torch::Tensor centres, projection, offset, alpha, mixing, bias;

 private:
  // r = A (x - mu) + b = A x + shift(), shift = b - A mu [m, k]: no [batch, m, d] difference.
  torch::Tensor shift() const;
  torch::Tensor projections(const torch::Tensor& x);  // r [batch, m, k]
  torch::Tensor activations(const torch::Tensor& x);  // f [batch, m], before mixing
};
TORCH_MODULE(Gmnm);

// Scalars a Gmnm of these sizes allocates (centres, projections, offsets,
// alphas, mixing, bias; rank = projections per component), in double, for the
// size checks of models that hold one, before anything is allocated.
double gmnm_size(int64_t in_features, int64_t out_features, int64_t components, int64_t rank);

// The head option of a model with an optional GMNM head on `hidden` features:
// throws std::invalid_argument unless head is linear | gmnm and a GMNM head's
// rank is at most hidden; returns whether the head is a GMNM.
bool check_gmnm_head(const std::string& family, const std::string& head, int64_t rank,
                     int64_t hidden);

// Each row of h [n, features] less its mean, over its spread (a layer
// normalisation without parameters): what a GMNM on learned features sees.
// Its components are placed for standardised inputs, and features that grow
// while training would otherwise leave them all far away.
torch::Tensor standardise_rows(const torch::Tensor& h);

// How many training images the GMNM of an image model (a CNN's head, an
// autoencoder's branch) places its centres on, at most.
constexpr int64_t kGmnmInitialisationImages = 2048;

}  // namespace gsnn
