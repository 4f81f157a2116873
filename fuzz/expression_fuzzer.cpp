// libFuzzer harness: PDE expressions (muparser through expression_field) on
// arbitrary text, evaluated on a small grid as a pde task evaluates its
// source. Every input must end in values or a std::exception, never a crash
// or a hang.
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "pde/expression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto field = gsnn::expression_field("source", text);
    const auto grid = torch::linspace(-2, 2, 5, torch::kFloat64);
    const auto xy = torch::meshgrid({grid, grid}, "ij");
    const auto values = field(xy[0], xy[1]);
    if (values.sizes() != xy[0].sizes()) __builtin_trap();
  } catch (const std::exception&) {
  }
  return 0;
}
