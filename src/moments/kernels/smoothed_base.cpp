// The kernels for any CPU (ATen's generic Vectorized: scalar loops).
#define GSNN_KERNEL_ISA base
#include "moments/kernels/smoothed_impl.hpp"
