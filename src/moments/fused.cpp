// smoothed_moments: the fused kernels (moments/kernels/) behind an autograd
// function whose backward multiplies the saved partial derivatives by the
// incoming gradients. A backward that must itself be differentiated (create_graph:
// input-gradient penalties, nested-autograd PDE losses) differentiates the
// reference instead, so every order of derivative stays exact.
#include <torch/torch.h>

#include <ATen/ExpandUtils.h>
#include <ATen/Parallel.h>

#include <atomic>

#include "moments/kernels/smoothed.hpp"
#include "moments/moments.hpp"

namespace gsnn {
namespace kernels {

bool has_smoothed_kernel(Activation activation) {
  return activation != Activation::Identity && activation != Activation::Gelu;
}

}  // namespace kernels

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::atomic<bool> fused_enabled{true};

bool cpu_has_avx2() {
#if defined(GSNN_AVX2_KERNELS) && (defined(__x86_64__) || defined(__i386__))
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

// Elements per parallel task: each costs ~20-40 transcendental evaluations.
constexpr int64_t kGrain = 4096;

template <typename T>
void run_kernels(Activation activation, const std::vector<torch::Tensor>& in,
                 std::vector<torch::Tensor>& out) {
  const bool avx2 = cpu_has_avx2();
  at::parallel_for(0, in[0].numel(), kGrain, [&](int64_t begin, int64_t end) {
    kernels::SmoothedArgs<T> a{in[0].data_ptr<T>() + begin, in[1].data_ptr<T>() + begin,
                               out[0].data_ptr<T>() + begin, out[1].data_ptr<T>() + begin};
    if (out.size() == 6) {
      a.dmean_dm = out[2].data_ptr<T>() + begin;
      a.dmean_dv = out[3].data_ptr<T>() + begin;
      a.dvar_dm = out[4].data_ptr<T>() + begin;
      a.dvar_dv = out[5].data_ptr<T>() + begin;
    }
    if (avx2)
      kernels::avx2::smoothed(activation, a, end - begin);
    else
      kernels::base::smoothed(activation, a, end - begin);
  });
}

// outputs: mean, var, and with_partials the four partial derivatives.
std::vector<torch::Tensor> evaluate(Activation activation, const torch::Tensor& mean,
                                    const torch::Tensor& var, bool with_partials) {
  const std::vector<torch::Tensor> in = {mean.contiguous(), var.contiguous()};
  std::vector<torch::Tensor> out(with_partials ? 6 : 2);
  for (auto& t : out) t = torch::empty_like(in[0]);
  if (mean.scalar_type() == torch::kFloat64)
    run_kernels<double>(activation, in, out);
  else
    run_kernels<float>(activation, in, out);
  return out;
}

struct SmoothedFunction : public torch::autograd::Function<SmoothedFunction> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& mean,
                               const torch::Tensor& var, int64_t activation) {
    auto out = evaluate(static_cast<Activation>(activation), mean, var, true);
    ctx->save_for_backward({mean, var, out[2], out[3], out[4], out[5]});
    ctx->set_materialize_grads(false);  // an unused output's gradient stays undefined
    ctx->saved_data["activation"] = activation;
    return {out[0], out[1]};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto activation = static_cast<Activation>(ctx->saved_data["activation"].toInt());
    auto& g_mean = grads[0];
    auto& g_var = grads[1];
    torch::Tensor d_mean, d_var;
    if (!g_mean.defined() && !g_var.defined()) return {d_mean, d_var, torch::Tensor()};
    if (torch::GradMode::is_enabled()) {  // create_graph: differentiate the reference
      std::vector<torch::Tensor> inputs;
      for (int i = 0; i < 2; ++i)
        if (saved[i].requires_grad()) inputs.push_back(saved[i]);
      const auto ref = smoothed_moments_reference(activation, saved[0], saved[1]);
      // Only the outputs that received a gradient: a zero one (the last
      // layer's variance under a mean-only loss) would put the whole
      // variance quadrature into the graph that higher orders differentiate.
      std::vector<torch::Tensor> outputs, output_grads;
      for (const auto& [out, g] : {std::pair{ref.mean, g_mean}, std::pair{ref.var, g_var}})
        if (g.defined()) outputs.push_back(out), output_grads.push_back(g);
      const auto d = torch::autograd::grad(outputs, inputs, output_grads,
                                           /*retain_graph=*/true, /*create_graph=*/true,
                                           /*allow_unused=*/true);
      size_t next = 0;
      if (saved[0].requires_grad()) d_mean = d[next++];
      if (saved[1].requires_grad()) d_var = d[next++];
    } else {
      // An output nobody used (the variance under an MSE loss) has no gradient: skip its term.
      const auto chain = [&](const torch::Tensor& d_by_mean, const torch::Tensor& d_by_var) {
        if (!g_var.defined()) return g_mean * d_by_mean;
        if (!g_mean.defined()) return g_var * d_by_var;
        return g_mean * d_by_mean + g_var * d_by_var;
      };
      if (ctx->needs_input_grad(0)) d_mean = chain(saved[2], saved[4]);
      if (ctx->needs_input_grad(1)) d_var = chain(saved[3], saved[5]);
    }
    return {d_mean, d_var, torch::Tensor()};
  }
};

}  // namespace

void set_fused_kernels(bool enabled) { fused_enabled = enabled; }
bool fused_kernels() { return fused_enabled; }

Moments smoothed_moments(Activation activation, const torch::Tensor& mean,
                         const torch::Tensor& var) {
  const bool applies =
      fused_enabled && kernels::has_smoothed_kernel(activation) && var.defined() &&
      mean.device().is_cpu() && var.device().is_cpu() && var.scalar_type() == mean.scalar_type() &&
      (mean.scalar_type() == torch::kFloat32 || mean.scalar_type() == torch::kFloat64) &&
      at::is_expandable_to(var.sizes(), mean.sizes());
  if (!applies) return smoothed_moments_reference(activation, mean, var);
  // Broadcasting happens outside, so that autograd sums the variance gradient back.
  const auto full_var = var.sizes() == mean.sizes() ? var : var.expand_as(mean);
  if (!torch::GradMode::is_enabled() || !(mean.requires_grad() || full_var.requires_grad())) {
    auto out = evaluate(activation, mean, full_var, false);
    return {out[0], out[1]};
  }
  const auto out = SmoothedFunction::apply(mean, full_var, static_cast<int64_t>(activation));
  return {out[0], out[1]};
}

}  // namespace gsnn
