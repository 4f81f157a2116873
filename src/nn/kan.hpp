// Kolmogorov-Arnold network with B-spline edges (Liu et al. 2024), laid out as
// efficient-kan does: each layer maps x [batch, in] to
//   y_o = sum_i  w_base[o,i] silu(x_i)  +  s[o,i] sum_c  c[o,i,c] B_c(x_i),
// with B_c the order-k B-splines on a grid of G intervals per input, extended
// by k knots on each side (G + k basis functions). Inside the grid the basis
// is a partition of unity; outside it the spline fades and the SiLU branch
// carries on. Trainable: w_base, c and s, so (G + k + 2) per edge.
// update_grid() moves the knots to the data (quantiles mixed with a uniform
// grid by grid_eps) and refits c so the function is kept (least squares);
// extend_grid() refines the grid to G' intervals keeping the function.
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <functional>
#include <utility>
#include <vector>

namespace gsnn {

struct KanLayerOptions {
  KanLayerOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(int64_t, grid_size) = 5;     // G intervals
  TORCH_ARG(int64_t, spline_order) = 3;  // k (cubic)
  TORCH_ARG(double, grid_min) = -1;      // initial grid range, before update_grid
  TORCH_ARG(double, grid_max) = 1;
  TORCH_ARG(double, grid_eps) = 0.02;    // update_grid: weight of the uniform grid
  TORCH_ARG(double, noise_scale) = 0.1;  // initial spline coefficients ~ U(+-noise/2G)
};

class KanLayerImpl : public torch::nn::Module {
 public:
  explicit KanLayerImpl(KanLayerOptions options);
  torch::Tensor forward(const torch::Tensor& x);  // [batch, in] -> [batch, out]
  // B-spline basis [batch, in, G + k] at x [batch, in].
  torch::Tensor basis(const torch::Tensor& x) const;
  // The basis and its first and second derivatives (each [batch, in, G + k]).
  std::array<torch::Tensor, 3> basis_and_derivatives(const torch::Tensor& x) const;
  // One layer of a forward Laplacian: h [n, in] -> [n, out] with its input
  // Jacobian jac [n, d, in] and weighted Laplacian lap [n, in] (updated in place).
  void forward_laplacian(torch::Tensor& h, torch::Tensor& jac, torch::Tensor& lap,
                         const torch::Tensor& w) const;
  // Knots to the data x [n, in]; coefficients refitted to keep the function on x.
  void update_grid(const torch::Tensor& x, double margin = 0.01);
  // G -> grid_size intervals over the same range; coefficients refitted on x.
  void extend_grid(int64_t grid_size, const torch::Tensor& x);

  KanLayerOptions options;
  torch::Tensor grid;  // buffer [in, G + 2k + 1]
  torch::Tensor base_weight, spline_weight, spline_scaler;

 private:
  torch::Tensor spline_part(const torch::Tensor& x) const;  // [batch, in, out], per input
  void refit(const torch::Tensor& x, const torch::Tensor& per_input_output);
};
TORCH_MODULE(KanLayer);

struct KanOptions {
  KanOptions(std::vector<int64_t> widths) : widths_(std::move(widths)) {}
  TORCH_ARG(std::vector<int64_t>, widths);  // [inputs, hidden..., outputs]
  TORCH_ARG(int64_t, grid_size) = 5;
  TORCH_ARG(int64_t, spline_order) = 3;
  TORCH_ARG(bool, grid_from_data) = true;  // initialise() fits each layer's grid to its inputs
  // While training (before_step): the grids move to the current batch's
  // inputs every `grid_update_every` steps up to step `grid_update_until`,
  // as pykan's update_grid_from_samples schedule; 0 = never.
  TORCH_ARG(int64_t, grid_update_every) = 0;
  TORCH_ARG(int64_t, grid_update_until) = 50;
};

class KanImpl : public torch::nn::Module {
 public:
  explicit KanImpl(KanOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  void initialise(const torch::Tensor& x);  // grid update layer by layer (if grid_from_data)
  // The scheduled grid updates, on inputs() (called only at those steps).
  void before_step(int64_t step, const std::function<torch::Tensor()>& inputs);
  // Output and sum_i w_i d2y/dz_i2, layer by layer (nn/model.hpp).
  std::pair<torch::Tensor, torch::Tensor> forward_laplacian(const torch::Tensor& z,
                                                            const torch::Tensor& w);
  void extend_grid(int64_t grid_size, const torch::Tensor& x);

  KanOptions options;
  torch::nn::ModuleList layers;

 private:
  // Calls refit(layer, its inputs) layer by layer, inputs flowing from x.
  void refit_layers(const torch::Tensor& x,
                    const std::function<void(KanLayerImpl&, const torch::Tensor&)>& refit);
};
TORCH_MODULE(Kan);

}  // namespace gsnn
