// Fused CPU kernels of the Gaussian-smoothed activations: one pass over
// (mean, var) that writes E[h(Z)], Var[h(Z)] and, on request, their four
// partial derivatives in (m, v), which the analytic backward multiplies by
// the incoming gradients. The same source (smoothed_impl.hpp) is compiled for
// AVX2 + FMA and for the baseline ISA; moments/fused.cpp picks one at run
// time. The ATen chain of moments.cpp is the reference they are tested
// against (tests/fused_test.cpp).
#pragma once

#include <cstdint>

#include "moments/moments.hpp"

namespace gsnn::kernels {

template <typename T>
struct SmoothedArgs {
  const T* mean_in;
  const T* var_in;
  T* mean;
  T* var;
  // All four or none: d mean/dm, d mean/dv, d var/dm, d var/dv.
  T* dmean_dm = nullptr;
  T* dmean_dv = nullptr;
  T* dvar_dm = nullptr;
  T* dvar_dv = nullptr;
};

// Activations with a kernel (gelu's variance derivatives are not written yet:
// it and identity use the reference).
bool has_smoothed_kernel(Activation activation);

#define GSNN_DECLARE_SMOOTHED_KERNELS(isa)                                           \
  namespace isa {                                                                    \
  void smoothed(Activation activation, const SmoothedArgs<float>& args, int64_t n);  \
  void smoothed(Activation activation, const SmoothedArgs<double>& args, int64_t n); \
  }
GSNN_DECLARE_SMOOTHED_KERNELS(base)
GSNN_DECLARE_SMOOTHED_KERNELS(avx2)
#undef GSNN_DECLARE_SMOOTHED_KERNELS

}  // namespace gsnn::kernels
