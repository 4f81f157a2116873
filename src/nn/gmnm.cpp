// GmnmImpl: vectorised over components, chunked over points without gradients.
#include "nn/gmnm.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace gsnn {
namespace {
constexpr int64_t kChunkElements = int64_t{1} << 22;  // r holds at most this many scalars
}

double gmnm_size(int64_t in_features, int64_t out_features, int64_t components, int64_t rank) {
  const double d = in_features, k = rank, m = components;
  return m * (d + k * d + 2 * k + out_features) + out_features;
}

bool check_gmnm_head(const std::string& family, const std::string& head, int64_t rank,
                     int64_t hidden) {
  if (head != "linear" && head != "gmnm")
    throw std::invalid_argument(family + ": head must be linear or gmnm");
  if (head == "gmnm" && rank > hidden)
    throw std::invalid_argument(family + ": the GMNM head's rank must be at most hidden (" +
                                std::to_string(hidden) + ")");
  return head == "gmnm";
}

GmnmImpl::GmnmImpl(GmnmOptions o) : options(std::move(o)) {
  const int64_t d = options.in_features(), m = options.components(), k = rank();
  if (d < 1 || options.out_features() < 1 || m < 1 || options.rank() < 0)
    throw std::invalid_argument("gmnm: inputs, outputs and components must be >= 1, rank >= 0");
  if (!(options.init_scale() > 0)) throw std::invalid_argument("gmnm: init_scale must be > 0");
  const double scale = options.init_scale() * std::pow(double(m), 1.0 / d) / (2 * std::sqrt(3.0));
  torch::NoGradGuard guard;
  auto a = k == d ? torch::eye(d).expand({m, d, d}).clone() : torch::randn({m, k, d});
  a = a / a.norm(2, -1, true) * scale;
  // Frozen centres are a buffer: no optimiser, freeze stage or group can move them.
  const auto start = torch::rand({m, d}) * 2 - 1;
  centres = options.learn_centres() ? register_parameter("centres", start)
                                    : register_buffer("centres", start);
  projection = register_parameter("projection", a);
  offset = register_parameter("offset", torch::zeros({m, k}));
  alpha = register_parameter("alpha", torch::ones({m, k}));
  const double bound = 1 / std::sqrt(double(m));
  mixing = register_parameter("mixing",
                              torch::empty({m, options.out_features()}).uniform_(-bound, bound));
  bias = register_parameter("bias", torch::zeros({options.out_features()}));
}

void GmnmImpl::initialise(const torch::Tensor& x) {
  torch::NoGradGuard guard;
  centres.copy_(choose_centres(x.flatten(1), options.components(), options.centre_init()));
}

torch::Tensor GmnmImpl::shift() const {
  return offset - torch::einsum("mkd,md->mk", {projection, centres});
}

torch::Tensor GmnmImpl::projections(const torch::Tensor& x) {
  const int64_t m = options.components(), k = rank(), d = options.in_features();
  const auto a = projection.reshape({m * k, d});
  return torch::matmul(x, a.t()).reshape({x.size(0), m, k}) + shift();
}

torch::Tensor GmnmImpl::activations(const torch::Tensor& x) {
  return torch::exp(-0.5 * (projections(x).square() * alpha.square()).sum(-1));
}

std::pair<torch::Tensor, torch::Tensor> GmnmImpl::forward_laplacian(const torch::Tensor& x,
                                                                    const torch::Tensor& w) {
  // Projections laid out [k, n, m] so that every per-projection slice is a
  // contiguous [n, m] block (measured 2-3x faster than [n, m, k] with einsum).
  const int64_t k = rank();
  const auto r = torch::matmul(x.unsqueeze(0), projection.permute({1, 2, 0})) +
                 shift().t().unsqueeze(1);             // [k, n, m]
  const auto s = r * alpha.square().t().unsqueeze(1);  // D r
  const auto f = torch::exp(-0.5 * (r * s).sum(0));    // [n, m]
  // sum_i w_i g_i^2 = (D r)^T (A W A^T) (D r), with M = A W A^T per component.
  const auto m = torch::einsum("mkd,d,mld->klm", {projection, w, projection});  // [k, k, m]
  torch::Tensor quad = torch::zeros_like(f);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t c = a; c < k; ++c) quad = quad + (a == c ? 1.0 : 2.0) * s[a] * s[c] * m[a][c];
  const auto trace = torch::einsum("mk,mkd,d->m", {alpha.square(), projection.square(), w});
  return {torch::addmm(bias, f, mixing), (f * (quad - trace)).matmul(mixing)};
}

torch::Tensor GmnmImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 2 || x.size(1) != options.in_features())
    throw std::invalid_argument("gmnm: expected input [batch, " +
                                std::to_string(options.in_features()) + "]");
  auto mix = [this](const torch::Tensor& rows) {
    return torch::addmm(bias, activations(rows), mixing);
  };
  // In chunks of rows when no gradient is recorded (prediction on many
  // points); in one piece otherwise (autograd keeps every chunk anyway).
  const int64_t chunk = std::max<int64_t>(1, kChunkElements / (options.components() * rank()));
  if (x.size(0) <= chunk || torch::GradMode::is_enabled()) return mix(x);
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < x.size(0); s += chunk) parts.push_back(mix(x.slice(0, s, s + chunk)));
  return torch::cat(parts);
}

torch::Tensor standardise_rows(const torch::Tensor& h) {
  const auto centred = h - h.mean(1, true);
  return centred / centred.square().mean(1, true).add(1e-5).sqrt();
}

}  // namespace gsnn
