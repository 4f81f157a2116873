// activate_laplacian: the activation step of the forward Laplacian, fused.
#include "nn/forward_laplacian.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#include "nn/mlp.hpp"

namespace gsnn {
namespace {

enum class Kind { Tanh, Relu, Silu, Gelu };

Kind parse_kind(const std::string& name) {
  if (name == "tanh") return Kind::Tanh;
  if (name == "relu") return Kind::Relu;
  if (name == "silu") return Kind::Silu;
  if (name == "gelu") return Kind::Gelu;
  throw std::invalid_argument("forward Laplacian: unknown activation '" + name + "'");
}

// What the derivatives are made of, computed by ATen's vectorised functions
// (a scalar libm tanh per element cost more than the rest of the step):
// tanh: tanh(a); silu: sigmoid(a); gelu: Phi(a), phi(a); relu: nothing.
std::vector<torch::Tensor> primitives(Kind kind, const torch::Tensor& a) {
  switch (kind) {
    case Kind::Tanh:
      return {torch::tanh(a)};
    case Kind::Silu:
      return {torch::sigmoid(a)};
    case Kind::Gelu:
      return {0.5 * torch::erfc(a * -M_SQRT1_2),
              torch::exp(-0.5 * a.square()) * (0.5 * M_2_SQRTPI * M_SQRT1_2)};
    case Kind::Relu:
      break;
  }
  return {};
}

// s(a) and its first three derivatives from a and its primitives p, q.
template <class T>
void derivatives(Kind kind, T a, T p, T q, T& s, T& d1, T& d2, T& d3) {
  switch (kind) {
    case Kind::Tanh:  // p = tanh(a)
      s = p, d1 = 1 - p * p, d2 = -2 * p * d1, d3 = d1 * (6 * p * p - 2);
      return;
    case Kind::Relu:
      s = a > 0 ? a : T(0), d1 = a > 0 ? T(1) : T(0), d2 = 0, d3 = 0;
      return;
    case Kind::Silu: {  // p = sigmoid(a): s = a p, ds = p', dds = p''
      const T ds = p * (1 - p), dds = ds * (1 - 2 * p);
      s = a * p, d1 = p + a * ds, d2 = ds * (2 + a * (1 - 2 * p));
      d3 = dds * (2 + a * (1 - 2 * p)) + ds * (1 - 2 * p - 2 * a * ds);
      return;
    }
    case Kind::Gelu:  // p = Phi(a), q = phi(a): s = a Phi(a)
      s = a * p, d1 = p + a * q, d2 = q * (2 - a * a), d3 = a * q * (a * a - 4);
      return;
  }
}

// The same step in ATen ops (differentiable to any order): the reference for
// a create_graph backward.
std::array<torch::Tensor, 3> reference(const std::string& name, const torch::Tensor& a,
                                       const torch::Tensor& jac, const torch::Tensor& lap,
                                       const torch::Tensor& w) {
  const auto [value, d1, d2] = activation_and_derivatives(name, a);
  return {value, jac * d1.unsqueeze(1), d1 * lap + d2 * (jac.square() * w.view({1, -1, 1})).sum(1)};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class ActivateLaplacian : public torch::autograd::Function<ActivateLaplacian> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& a_in,
                               const torch::Tensor& jac_in, const torch::Tensor& lap_in,
                               const torch::Tensor& w_in, int64_t kind) {
    const auto a = a_in.contiguous(), jac = jac_in.contiguous(), lap = lap_in.contiguous();
    const auto w = w_in.to(a.scalar_type()).contiguous();
    // Primitives p, q (`a` itself where the activation needs fewer): saved for the backward.
    auto prims = primitives(static_cast<Kind>(kind), a);
    while (prims.size() < 2) prims.push_back(a);
    const auto p = prims[0].contiguous(), q = prims[1].contiguous();
    auto h = torch::empty_like(a), j = torch::empty_like(jac), l = torch::empty_like(lap);
    const int64_t n = a.size(0), d = jac.size(1), u = a.size(1);
    AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "activate_laplacian", [&] {
      const auto* pa = a.data_ptr<scalar_t>();
      const auto* pj = jac.data_ptr<scalar_t>();
      const auto* pl = lap.data_ptr<scalar_t>();
      const auto* pw = w.data_ptr<scalar_t>();
      const auto *pp = p.data_ptr<scalar_t>(), *pq = q.data_ptr<scalar_t>();
      auto *oh = h.data_ptr<scalar_t>(), *oj = j.data_ptr<scalar_t>(), *ol = l.data_ptr<scalar_t>();
      at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)
          for (int64_t c = 0; c < u; ++c) {
            scalar_t s, d1, d2, d3;
            const int64_t e = r * u + c;
            derivatives(static_cast<Kind>(kind), pa[e], pp[e], pq[e], s, d1, d2, d3);
            scalar_t sum = 0;
            for (int64_t i = 0; i < d; ++i) {
              const scalar_t x = pj[(r * d + i) * u + c];
              sum += pw[i] * x * x;
              oj[(r * d + i) * u + c] = d1 * x;
            }
            oh[r * u + c] = s;
            ol[r * u + c] = d1 * pl[r * u + c] + d2 * sum;
          }
      });
    });
    ctx->save_for_backward({a, jac, lap, w, p, q});
    ctx->saved_data["kind"] = kind;
    ctx->set_materialize_grads(false);  // the last layer's J often has no gradient
    return {h, j, l};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &a = saved[0], &jac = saved[1], &lap = saved[2], &w = saved[3];
    const auto kind = static_cast<Kind>(ctx->saved_data["kind"].toInt());
    if (torch::GradMode::is_enabled()) {  // create_graph: differentiate the reference
      static const char* names[] = {"tanh", "relu", "silu", "gelu"};
      const auto out = reference(names[static_cast<int>(kind)], a, jac, lap, w);
      std::vector<torch::Tensor> outputs, output_grads;
      for (int k = 0; k < 3; ++k)
        if (grads[k].defined()) outputs.push_back(out[k]), output_grads.push_back(grads[k]);
      std::vector<torch::Tensor> inputs;
      for (const auto* t : {&a, &jac, &lap})
        if (t->requires_grad()) inputs.push_back(*t);
      variable_list result(5);
      if (outputs.empty() || inputs.empty()) return result;
      const auto d = torch::autograd::grad(outputs, inputs, output_grads, true, true, true);
      size_t next = 0;
      for (int k = 0; k < 3; ++k)
        if (saved[k].requires_grad()) result[k] = d[next++];
      return result;
    }
    const int64_t n = a.size(0), d = jac.size(1), u = a.size(1);
    auto zeros_if_missing = [&](const torch::Tensor& g, const torch::Tensor& like) {
      return g.defined() ? g.contiguous() : torch::zeros_like(like);
    };
    const auto gh = zeros_if_missing(grads[0], a), gj = zeros_if_missing(grads[1], jac),
               gl = zeros_if_missing(grads[2], lap);
    auto ga = torch::empty_like(a), gjac = torch::empty_like(jac), glap = torch::empty_like(lap);
    AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "activate_laplacian_backward", [&] {
      const auto *pa = a.data_ptr<scalar_t>(), *pj = jac.data_ptr<scalar_t>();
      const auto *pl = lap.data_ptr<scalar_t>(), *pw = w.data_ptr<scalar_t>();
      const auto *pgh = gh.data_ptr<scalar_t>(), *pgj = gj.data_ptr<scalar_t>();
      const auto* pgl = gl.data_ptr<scalar_t>();
      const auto *pp = saved[4].data_ptr<scalar_t>(), *pq = saved[5].data_ptr<scalar_t>();
      auto *oa = ga.data_ptr<scalar_t>(), *oj = gjac.data_ptr<scalar_t>();
      auto* ol = glap.data_ptr<scalar_t>();
      at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)
          for (int64_t c = 0; c < u; ++c) {
            scalar_t s, d1, d2, d3;
            const int64_t e = r * u + c;
            derivatives(kind, pa[e], pp[e], pq[e], s, d1, d2, d3);
            const scalar_t g_l = pgl[r * u + c];
            scalar_t sum = 0, cross = 0;  // sum_i w_i J_i^2, sum_i gJ_i J_i
            for (int64_t i = 0; i < d; ++i) {
              const int64_t k = (r * d + i) * u + c;
              const scalar_t x = pj[k];
              sum += pw[i] * x * x;
              cross += pgj[k] * x;
              oj[k] = pgj[k] * d1 + 2 * g_l * d2 * pw[i] * x;
            }
            oa[r * u + c] =
                pgh[r * u + c] * d1 + g_l * (d2 * pl[r * u + c] + d3 * sum) + d2 * cross;
            ol[r * u + c] = g_l * d1;
          }
      });
    });
    return {ga, gjac, glap, {}, {}};
  }
};

}  // namespace

LaplacianState activate_laplacian(const std::string& activation, const LaplacianState& pre,
                                  const torch::Tensor& w) {
  const auto kind = static_cast<int64_t>(parse_kind(activation));
  // The fused loop is CPU code and gives w no gradient (it holds input scales).
  if (!pre.h.device().is_cpu() || w.requires_grad()) {
    const auto out = reference(activation, pre.h, pre.jac, pre.lap, w);
    return {out[0], out[1], out[2]};
  }
  const auto out = ActivateLaplacian::apply(pre.h, pre.jac, pre.lap, w, kind);
  return {out[0], out[1], out[2]};
}

}  // namespace gsnn
