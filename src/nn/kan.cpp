// KanLayerImpl: Cox-de Boor basis, grid update and extension by least squares.
#include "nn/kan.hpp"

#include "nn/forward_laplacian.hpp"
#include "nn/mlp.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace gsnn {
namespace {
using torch::indexing::None;
using torch::indexing::Slice;

// Uniform knots [in, G + 2k + 1] over [lo, hi] per input (lo, hi: [in]).
torch::Tensor uniform_grid(const torch::Tensor& lo, const torch::Tensor& hi, int64_t g, int64_t k) {
  const auto step = (hi - lo) / g;  // [in]
  const auto i = torch::arange(-k, g + k + 1, lo.options());
  return lo.unsqueeze(1) + i.unsqueeze(0) * step.unsqueeze(1);
}
}  // namespace

KanLayerImpl::KanLayerImpl(KanLayerOptions o) : options(std::move(o)) {
  const int64_t in = options.in_features(), out = options.out_features();
  const int64_t g = options.grid_size(), k = options.spline_order();
  if (in < 1 || out < 1 || g < 1 || k < 0)
    throw std::invalid_argument("kan: features and grid size must be >= 1, spline order >= 0");
  if (!(options.grid_max() > options.grid_min()))
    throw std::invalid_argument("kan: grid_max must be > grid_min");
  torch::NoGradGuard guard;
  grid = register_buffer("grid", uniform_grid(torch::full({in}, options.grid_min()),
                                              torch::full({in}, options.grid_max()), g, k));
  const double bound = 1 / std::sqrt(double(in));
  base_weight = register_parameter("base_weight", torch::empty({out, in}).uniform_(-bound, bound));
  const double noise = options.noise_scale() / (2.0 * g);
  spline_weight =
      register_parameter("spline_weight", torch::empty({out, in, g + k}).uniform_(-noise, noise));
  spline_scaler =
      register_parameter("spline_scaler", torch::empty({out, in}).uniform_(-bound, bound));
}

torch::Tensor KanLayerImpl::basis(const torch::Tensor& x) const {
  const int64_t k = options.spline_order();
  const auto xu = x.unsqueeze(-1);  // [batch, in, 1]
  const auto& g = grid;             // [in, K]
  auto b = ((xu >= g.index({Slice(), Slice(0, -1)})) & (xu < g.index({Slice(), Slice(1, None)})))
               .to(x.dtype());
  for (int64_t p = 1; p <= k; ++p) {
    const auto left = (xu - g.index({Slice(), Slice(0, -(p + 1))})) /
                      (g.index({Slice(), Slice(p, -1)}) - g.index({Slice(), Slice(0, -(p + 1))}));
    const auto right = (g.index({Slice(), Slice(p + 1, None)}) - xu) /
                       (g.index({Slice(), Slice(p + 1, None)}) - g.index({Slice(), Slice(1, -p)}));
    b = left * b.index({Slice(), Slice(), Slice(0, -1)}) +
        right * b.index({Slice(), Slice(), Slice(1, None)});
  }
  return b;
}

std::array<torch::Tensor, 3> KanLayerImpl::basis_and_derivatives(const torch::Tensor& x) const {
  const int64_t k = options.spline_order();
  const auto xu = x.unsqueeze(-1);
  const auto& g = grid;
  // Level p from level p - 1 (Cox-de Boor), and the derivative of level p from
  // values of level p - 1: B'_{c,p} = p (B_{c,p-1} / (t_{c+p} - t_c) - B_{c+1,p-1} / (t_{c+p+1} -
  // t_{c+1})).
  auto left_span = [&](int64_t p) {
    return g.index({Slice(), Slice(p, -1)}) - g.index({Slice(), Slice(0, -(p + 1))});
  };
  auto right_span = [&](int64_t p) {
    return g.index({Slice(), Slice(p + 1, None)}) - g.index({Slice(), Slice(1, -p)});
  };
  auto raise = [&](const torch::Tensor& b, int64_t p) {
    return (xu - g.index({Slice(), Slice(0, -(p + 1))})) / left_span(p) *
               b.index({Slice(), Slice(), Slice(0, -1)}) +
           (g.index({Slice(), Slice(p + 1, None)}) - xu) / right_span(p) *
               b.index({Slice(), Slice(), Slice(1, None)});
  };
  auto derive = [&](const torch::Tensor& b, int64_t p) {
    return p * (b.index({Slice(), Slice(), Slice(0, -1)}) / left_span(p) -
                b.index({Slice(), Slice(), Slice(1, None)}) / right_span(p));
  };
  std::vector<torch::Tensor> level = {
      ((xu >= g.index({Slice(), Slice(0, -1)})) & (xu < g.index({Slice(), Slice(1, None)})))
          .to(x.dtype())};
  for (int64_t p = 1; p <= k; ++p) level.push_back(raise(level.back(), p));
  const auto value = level[k];
  const auto first = k >= 1 ? derive(level[k - 1], k) : torch::zeros_like(value);
  const auto second = k >= 2 ? derive(derive(level[k - 2], k - 1), k) : torch::zeros_like(value);
  return {value, first, second};
}

void KanLayerImpl::forward_laplacian(torch::Tensor& h, torch::Tensor& jac, torch::Tensor& lap,
                                     const torch::Tensor& w) const {
  // y_o = sum_i phi_oi(h_i): dy_o = sum_i phi'_oi J_i,
  // Lap y_o = sum_i phi'_oi Lap h_i + phi''_oi sum_d w_d J_di^2.
  const int64_t n = h.size(0);
  const auto c = (spline_weight * spline_scaler.unsqueeze(-1)).reshape({spline_weight.size(0), -1});
  const auto [b0, b1, b2] = basis_and_derivatives(h);
  const auto [s0, s1, s2] = activation_and_derivatives("silu", h);
  // sum_i phi^(r)_oi(h_i) v_i for a per-input factor v [n, in] (or [n, d, in]).
  auto apply = [&](const torch::Tensor& silu_r, const torch::Tensor& basis_r,
                   const torch::Tensor& v) {
    return (silu_r * v).matmul(base_weight.t()) +
           (basis_r * v.unsqueeze(-1)).reshape({v.size(0), -1}).matmul(c.t());
  };
  const auto squares = (jac.square() * w.view({1, -1, 1})).sum(1);  // [n, in]
  const auto new_lap = apply(s1, b1, lap) + apply(s2, b2, squares);
  std::vector<torch::Tensor> columns;
  for (int64_t d = 0; d < jac.size(1); ++d) columns.push_back(apply(s1, b1, jac.select(1, d)));
  jac = torch::stack(columns, 1);  // [n, d, out]
  h = apply(s0, b0, torch::ones({n, h.size(1)}, h.options()));
  lap = new_lap;
}

torch::Tensor KanLayerImpl::spline_part(const torch::Tensor& x) const {
  const auto c = spline_weight * spline_scaler.unsqueeze(-1);  // [out, in, G+k]
  return torch::einsum("bic,oic->bio", {basis(x), c});         // [batch, in, out]
}

torch::Tensor KanLayerImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 2 || x.size(1) != options.in_features())
    throw std::invalid_argument("kan: expected input [batch, " +
                                std::to_string(options.in_features()) + "]");
  const auto c = spline_weight * spline_scaler.unsqueeze(-1);
  return torch::silu(x).matmul(base_weight.t()) +
         basis(x).reshape({x.size(0), -1}).matmul(c.reshape({c.size(0), -1}).t());
}

void KanLayerImpl::refit(const torch::Tensor& x, const torch::Tensor& per_input_output) {
  // Per input i: basis(x)[:, i, :] c_i = target[:, i, :] in the least-squares sense.
  const auto a = basis(x).transpose(0, 1);                // [in, n, G+k]
  const auto y = per_input_output.transpose(0, 1);        // [in, n, out]
  const auto c = std::get<0>(torch::linalg_lstsq(a, y));  // [in, G+k, out]
  // The scaler multiplies the coefficients: divide it out (a zero scaler
  // would make that impossible, so it is reset to one there).
  auto scaler = spline_scaler.clone();
  scaler.masked_fill_(scaler.abs() < 1e-12, 1.0);
  spline_scaler.copy_(scaler);
  spline_weight.set_data(c.permute({2, 0, 1}).contiguous() / scaler.unsqueeze(-1));
}

void KanLayerImpl::update_grid(const torch::Tensor& x_in, double margin) {
  torch::NoGradGuard guard;
  const auto x = x_in.detach();
  const int64_t n = x.size(0), g = options.grid_size(), k = options.spline_order();
  const auto target = spline_part(x);
  const auto sorted = std::get<0>(x.sort(0));
  const auto rows = torch::linspace(0, n - 1, g + 1, x.options()).to(torch::kLong);
  const auto adaptive = sorted.index_select(0, rows);  // [G+1, in]
  const auto lo = sorted[0] - margin, hi = sorted[n - 1] + margin;
  const auto uniform = uniform_grid(lo, hi, g, 0).t();  // [G+1, in]
  const double eps = options.grid_eps();
  auto inner = eps * uniform + (1 - eps) * adaptive;
  const auto step = ((hi - lo) / g).unsqueeze(0);
  const auto i = torch::arange(1, k + 1, x.options()).unsqueeze(1);  // [k, 1]
  const auto below = inner.index({Slice(0, 1)}) - step * i.flip(0);
  const auto above = inner.index({Slice(-1, None)}) + step * i;
  grid.copy_(torch::cat({below, inner, above}).t());
  refit(x, target);
}

void KanLayerImpl::extend_grid(int64_t grid_size, const torch::Tensor& x_in) {
  if (grid_size < 1) throw std::invalid_argument("kan: grid size must be >= 1");
  torch::NoGradGuard guard;
  const auto x = x_in.detach();
  const int64_t k = options.spline_order(), g = options.grid_size();
  const auto target = spline_part(x);
  const auto lo = grid.index({Slice(), k}), hi = grid.index({Slice(), g + k});
  grid.set_data(uniform_grid(lo, hi, grid_size, k));
  options.grid_size(grid_size);
  refit(x, target);
}

KanImpl::KanImpl(KanOptions o) : options(std::move(o)) {
  const auto& w = options.widths();
  if (w.size() < 2) throw std::invalid_argument("kan: need at least inputs and outputs");
  layers = register_module("layers", torch::nn::ModuleList());
  for (size_t l = 0; l + 1 < w.size(); ++l)
    layers->push_back(KanLayer(KanLayerOptions(w[l], w[l + 1])
                                   .grid_size(options.grid_size())
                                   .spline_order(options.spline_order())));
}

torch::Tensor KanImpl::forward(const torch::Tensor& x) {
  auto h = x;
  for (const auto& layer : *layers) h = layer->as<KanLayerImpl>()->forward(h);
  return h;
}

void KanImpl::refit_layers(const torch::Tensor& x,
                           const std::function<void(KanLayerImpl&, const torch::Tensor&)>& refit) {
  torch::NoGradGuard guard;
  auto h = x.flatten(1);
  for (const auto& layer : *layers) {
    auto* l = layer->as<KanLayerImpl>();
    refit(*l, h);  // on this layer's inputs, then on to the next layer
    h = l->forward(h);
  }
}

void KanImpl::initialise(const torch::Tensor& x) {
  if (options.grid_from_data())
    refit_layers(x, [](KanLayerImpl& l, const torch::Tensor& h) { l.update_grid(h); });
}

void KanImpl::before_step(int64_t step, const std::function<torch::Tensor()>& inputs) {
  const int64_t every = options.grid_update_every();
  if (every > 0 && step % every == 0 && step <= options.grid_update_until())
    refit_layers(inputs(), [](KanLayerImpl& l, const torch::Tensor& h) { l.update_grid(h); });
}

std::pair<torch::Tensor, torch::Tensor> KanImpl::forward_laplacian(const torch::Tensor& z,
                                                                   const torch::Tensor& w) {
  auto s = LaplacianState::at_inputs(z);
  for (const auto& layer : *layers)
    layer->as<KanLayerImpl>()->forward_laplacian(s.h, s.jac, s.lap, w);
  return {s.h, s.lap};
}

void KanImpl::extend_grid(int64_t grid_size, const torch::Tensor& x) {
  refit_layers(
      x, [grid_size](KanLayerImpl& l, const torch::Tensor& h) { l.extend_grid(grid_size, h); });
  options.grid_size(grid_size);
}

}  // namespace gsnn
