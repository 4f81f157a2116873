// The kernels for AVX2 + FMA (Sleef's vector transcendentals). CMake compiles
// this file with -mavx2 -mfma and ATen's CPU_CAPABILITY=AVX2 where the
// compiler and Sleef allow; moments/fused.cpp calls it only on CPUs that
// have both.
#define GSNN_KERNEL_ISA avx2
#include "moments/kernels/smoothed_impl.hpp"
