#include "gp/gaussian_process.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#include "data/dataset.hpp"

namespace gsnn {
namespace {

// Cholesky factor of the symmetric k, adding jitter 0, 1e-12, ..., 1e-4 times
// the mean diagonal to k's diagonal (in place) until it succeeds.
std::pair<torch::Tensor, double> robust_cholesky(torch::Tensor& k) {
  const double scale = k.diagonal().mean().item<double>();
  double added = 0;
  for (double relative = 0; relative <= 1e-4; relative = relative == 0 ? 1e-12 : relative * 10) {
    k.diagonal().add_(relative * scale - added);
    added = relative * scale;
    auto [factor, info] = torch::linalg_cholesky_ex(k);
    if (info.item<int64_t>() == 0) return {factor, added};
  }
  throw std::runtime_error(
      "gp: the kernel matrix is not positive definite even with jitter 1e-4 x its mean diagonal "
      "(duplicate inputs with a tiny noise_variance? raise noise_variance)");
}

std::vector<GpBounds> bounds_of(int64_t length_scales) {
  std::vector<GpBounds> b(length_scales, kGpLengthScaleBounds);
  b.push_back(kGpSignalBounds);
  b.push_back(kGpNoiseBounds);
  return b;
}

}  // namespace

GaussianProcessImpl::GaussianProcessImpl(GpOptions o) : options(o) {
  if (o.inputs() < 1 || o.outputs() < 1)
    throw std::invalid_argument("gp: needs inputs and outputs");
  const int64_t scales = o.ard() ? o.inputs() : 1;
  auto scalar = [](double v) { return torch::full({}, v, torch::kFloat64); };
  log_length_scale = register_buffer(
      "log_length_scale", torch::full({scales}, std::log(o.length_scale()), torch::kFloat64));
  log_signal_variance =
      register_buffer("log_signal_variance", scalar(std::log(o.signal_variance())));
  log_noise_variance = register_buffer("log_noise_variance", scalar(std::log(o.noise_variance())));
  jitter = register_buffer("jitter", scalar(0));
  train_x = register_buffer("train_x", torch::zeros({0, o.inputs()}, torch::kFloat64));
  alpha = register_buffer("alpha", torch::zeros({0, o.outputs()}, torch::kFloat64));
  log_likelihood_ = register_buffer("log_likelihood", scalar(0));
}

torch::Tensor GaussianProcessImpl::theta() const {
  return torch::cat(
      {log_length_scale, log_signal_variance.reshape({1}), log_noise_variance.reshape({1})});
}

torch::Tensor GaussianProcessImpl::kernel(const torch::Tensor& a, const torch::Tensor& b,
                                          const torch::Tensor& theta) const {
  const int64_t scales = log_length_scale.size(0);
  const auto inv_scale = (-theta.slice(0, 0, scales)).exp();
  const auto as = a * inv_scale, bs = b * inv_scale;
  // s2 exp(-|as - bs|^2 / 2), in place on the one [na, nb] tensor up to the
  // exponential (whose output autograd keeps: input gradients need it).
  return as.mm(bs.t())
      .mul_(-2)
      .add_(as.square().sum(1, true))
      .add_(bs.square().sum(1).unsqueeze(0))
      .clamp_min_(0)
      .mul_(-0.5)
      .exp_()
      .mul(theta[scales].exp());
}

GaussianProcessImpl::Likelihood GaussianProcessImpl::log_marginal_likelihood(
    const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& theta,
    bool gradient) const {
  const int64_t n = x.size(0), k = y.size(1), scales = log_length_scale.size(0);
  auto kr = kernel(x, x, theta);
  const double noise = theta[scales + 1].exp().item<double>();
  Likelihood out;
  torch::Tensor factor;
  auto kxx = gradient ? kr.clone() : kr;  // K_rbf is needed again for the gradient
  kxx.diagonal().add_(noise);
  std::tie(factor, out.jitter) = robust_cholesky(kxx);
  kxx = torch::Tensor();
  const auto a = torch::cholesky_solve(y, factor);
  out.value = (-0.5 * (y * a).sum() - double(k) * factor.diagonal().log().sum()).item<double>() -
              0.5 * double(n * k) * std::log(2 * M_PI);
  if (!gradient) {
    out.factor = factor;
    return out;
  }
  // W = alpha alpha^T - k K^-1, then M = W o K_rbf (in place).
  auto w = torch::cholesky_inverse(factor).mul_(-double(k)).add_(a.mm(a.t()));
  factor = torch::Tensor();
  const double trace_w = w.diagonal().sum().item<double>();
  auto m = w.mul_(kr);
  kr = torch::Tensor();
  const auto xs = x * (-theta.slice(0, 0, scales)).exp();
  // d K_rbf / d log l_i = K_rbf o (xs_i - xs_i')^2, and for symmetric M:
  // 1/2 sum_ab M_ab (xs_ai - xs_bi)^2 = sum_a xs_ai^2 (M 1)_a - xs_i^T M xs_i.
  auto per_input = (xs.square() * m.sum(1, true)).sum(0) - (xs * m.mm(xs)).sum(0);
  out.gradient = torch::cat({scales == x.size(1) ? per_input : per_input.sum().reshape({1}),
                             (0.5 * m.sum()).reshape({1}),
                             torch::full({1}, 0.5 * noise * trace_w, x.options())});
  return out;
}

void GaussianProcessImpl::fit_directly(const torch::Tensor& x_in, const torch::Tensor& y_in,
                                       uint64_t seed) {
  torch::NoGradGuard no_autograd;  // gradients are analytic
  const int64_t n = x_in.size(0);
  if (n < 1) throw std::invalid_argument("gp: no training points");
  if (n > kMaxGpPoints)
    throw std::invalid_argument(fmt::format(
        "gp: {} training points; exact GP regression here is limited to {} (the n x n kernel "
        "and its Cholesky factor take 16 n^2 bytes, {:.1f} GB at this n, twice that "
        "while maximising the likelihood)",
        n, kMaxGpPoints, 16e-9 * double(n) * double(n)));
  const auto x = x_in.flatten(1).to(torch::kFloat64).detach().clone();
  const auto y = y_in.to(torch::kFloat64).detach();
  if (!torch::isfinite(x).all().item<bool>() || !torch::isfinite(y).all().item<bool>())
    throw std::invalid_argument(
        "gp: training inputs or targets are not finite after scaling (values too large?)");
  const auto bounds = bounds_of(log_length_scale.size(0));
  std::vector<double> lo_v, hi_v;
  for (const auto& b : bounds) lo_v.push_back(std::log(b.lo)), hi_v.push_back(std::log(b.hi));
  // On the data's device (a GP on a GPU keeps everything there).
  const auto lo = torch::tensor(lo_v, x.options()), hi = torch::tensor(hi_v, x.options());

  auto best = torch::min(torch::max(theta().detach(), lo), hi);
  if (options.optimize()) {
    Random rng(seed);
    double best_lml = -INFINITY;
    std::string last_error;
    auto start = best.clone();
    for (int64_t r = 0; r <= options.restarts(); ++r) {
      if (r > 0)
        for (int64_t i = 0; i < start.size(0); ++i)
          start[i].fill_(rng.uniform(lo_v[size_t(i)], hi_v[size_t(i)]));
      // theta = lo + (hi - lo) sigmoid(u): the search never leaves the bounds.
      auto u = torch::logit(((start - lo) / (hi - lo)).clamp(1e-6, 1 - 1e-6));
      auto to_theta = [&] { return lo + (hi - lo) * torch::sigmoid(u); };
      torch::optim::LBFGS optimizer({u}, torch::optim::LBFGSOptions(1)
                                             .max_iter(options.iterations())
                                             .history_size(20)
                                             // Gradient 1e-5 on the total LML, as scipy's
                                             // L-BFGS-B in sklearn; change 1e-11 on the
                                             // O(1) loss (stricter than its ~2e-9).
                                             .tolerance_grad(1e-5 / double(n))
                                             .tolerance_change(1e-11)
                                             .line_search_fn("strong_wolfe"));
      try {
        // Minimises -LML / n; the gradient reaches u through the sigmoid.
        optimizer.step([&] {
          const auto s = torch::sigmoid(u);
          const auto l = log_marginal_likelihood(x, y, lo + (hi - lo) * s, true);
          u.mutable_grad() = -l.gradient * (hi - lo) * s * (1 - s) / double(n);
          return torch::full({}, -l.value / double(n), torch::kFloat64);
        });
        const auto theta_r = to_theta();
        const double lml = log_marginal_likelihood(x, y, theta_r).value;
        if (std::isfinite(lml) && lml > best_lml) best_lml = lml, best = theta_r.clone();
        if (!std::isfinite(lml)) last_error = "the likelihood is not finite";
      } catch (const std::runtime_error& e) {  // this start left the factorisable region
        last_error = e.what();
      }
    }
    if (!std::isfinite(best_lml))
      throw std::runtime_error("gp: no start of the likelihood maximisation succeeded: " +
                               last_error);
  }

  const int64_t scales = log_length_scale.size(0);
  log_length_scale.copy_(best.slice(0, 0, scales));
  log_signal_variance.fill_(best[scales]);
  log_noise_variance.fill_(best[scales + 1]);
  train_x.set_(x);
  const auto fit = log_marginal_likelihood(x, y, best);
  jitter.fill_(fit.jitter);
  log_likelihood_.fill_(fit.value);
  alpha.set_(torch::cholesky_solve(y, fit.factor));
  std::lock_guard<std::mutex> lock(cholesky_mutex_);
  cholesky_ = fit.factor;
}

const torch::Tensor& GaussianProcessImpl::cholesky() const {
  std::lock_guard<std::mutex> lock(cholesky_mutex_);
  const int64_t n = train_x.size(0);
  if (!cholesky_.defined() || cholesky_.size(0) != n || cholesky_.device() != train_x.device()) {
    torch::NoGradGuard guard;
    const auto th = theta();
    auto kxx = kernel(train_x, train_x, th);
    kxx.diagonal().add_(log_noise_variance.exp() + jitter);
    auto [factor, info] = torch::linalg_cholesky_ex(kxx);
    if (info.item<int64_t>() != 0)
      throw std::runtime_error("gp: the stored kernel matrix is not positive definite");
    cholesky_ = factor;
  }
  return cholesky_;
}

Prediction GaussianProcessImpl::predict(const Moments& input) {
  if (train_x.size(0) == 0) throw std::logic_error("gp: predict before fit");
  const auto x = input.mean.flatten(1);
  const auto th = theta();
  const auto& factor = cholesky();
  const int64_t n = train_x.size(0);
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 24) / n);  // n x chunk <= 128 MB
  std::vector<torch::Tensor> means, latents;
  for (int64_t i = 0; i < x.size(0); i += chunk) {
    const auto xc = x.slice(0, i, std::min(i + chunk, x.size(0)));
    const auto ks = kernel(xc, train_x, th);
    means.push_back(ks.mm(alpha));
    const auto v = torch::linalg_solve_triangular(factor, ks.t(), /*upper=*/false);
    latents.push_back((log_signal_variance.exp() - v.square().sum(0)).clamp_min(0).unsqueeze(1));
  }
  Prediction p;
  p.mean = x.size(0) ? torch::cat(means) : torch::zeros({0, alpha.size(1)}, x.options());
  const auto latent = x.size(0) ? torch::cat(latents) : torch::zeros({0, 1}, x.options());
  p.extras["latent_var"] = latent.expand_as(p.mean);
  p.var = (latent + log_noise_variance.exp()).expand_as(p.mean);
  return p;
}

Moments GaussianProcessImpl::forward(const Moments& input) { return predict(input).moments(); }

void GaussianProcessImpl::check_weights() const {
  const int64_t n = train_x.size(0);
  if (train_x.dim() != 2 || train_x.size(1) != options.inputs())
    throw std::runtime_error("gp: train_x must be [n, inputs]");
  if (n < 1 || n > kMaxGpPoints)
    throw std::runtime_error(
        fmt::format("gp: {} training points stored, must be 1 to {}", n, kMaxGpPoints));
  if (alpha.dim() != 2 || alpha.size(0) != n || alpha.size(1) != options.outputs())
    throw std::runtime_error("gp: alpha must be [n, outputs] with n = training points");
  const auto th = theta();
  const auto bounds = bounds_of(log_length_scale.size(0));
  for (size_t i = 0; i < bounds.size(); ++i) {
    const double v = th[int64_t(i)].item<double>();
    if (!(v >= std::log(bounds[i].lo) - 1e-9 && v <= std::log(bounds[i].hi) + 1e-9))
      throw std::runtime_error("gp: a hyperparameter is outside its bounds");
  }
  // Fitting never adds more than 1e-4 x the mean diagonal (s2 + noise).
  const double diagonal = (log_signal_variance.exp() + log_noise_variance.exp()).item<double>();
  if (!(jitter.item<double>() >= 0 && jitter.item<double>() <= 1.01e-4 * diagonal))
    throw std::runtime_error("gp: jitter must be in [0, 1e-4 x (s2 + noise)]");
  cholesky();  // a stored kernel that cannot be factorised fails here, not later
}

}  // namespace gsnn
