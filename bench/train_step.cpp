// Time of one full-batch Adam training step (forward, backward, update) of
// the GSNN and the MLP, at the size the DESIGN measurements use:
// 2 -> 64 -> 64 -> 1, batch 1024, float32, one thread. bench/run.sh runs
// this next to bench/train_step.py (the same models in Python PyTorch).
// `_reference` runs the GSNN with the fused activation kernels off (the ATen
// chain they replace); `_w256` at width 256, where the matrix products weigh more.
#include <benchmark/benchmark.h>

#include "core/runtime.hpp"
#include "moments/moments.hpp"
#include "nn/registry.hpp"
#include "train/objective.hpp"

namespace {

void train_step(benchmark::State& state, const std::string& model, const std::string& loss,
                int width = 64, bool fused = true) {
  gsnn::init_runtime({1, true});
  gsnn::set_fused_kernels(fused);
  torch::manual_seed(0);
  gsnn::Network r(gsnn::build_model(gsnn::resolve_model(model, {{"width", width}}), 2, 1),
                  gsnn::ModelShape{{2}, 1}, true, 0.1);
  torch::optim::Adam opt(r->parameters(), torch::optim::AdamOptions(1e-3));
  const auto x = torch::rand({1024, 2}) * 2 - 1;
  const auto y = torch::sin(3 * x.select(1, 0)).unsqueeze(1);
  const auto objective = gsnn::make_objective(loss, "regression");
  const gsnn::Batch batch{x, y};
  for (auto _ : state) {
    opt.zero_grad();
    auto l = objective->loss(r, batch).total;
    l.backward();
    opt.step();
    benchmark::DoNotOptimize(l.data_ptr());
  }
  gsnn::set_fused_kernels(true);
}

}  // namespace

BENCHMARK_CAPTURE(train_step, gsnn_tanh_mse, std::string("gsnn"), std::string("mse"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(train_step, gsnn_tanh_nll, std::string("gsnn"), std::string("nll"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(train_step, mlp_relu_mse, std::string("mlp-relu"), std::string("mse"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(train_step, mlp_tanh_mse, std::string("mlp-tanh"), std::string("mse"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(train_step, gsnn_tanh_mse_reference, std::string("gsnn"), std::string("mse"), 64,
                  false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(train_step, gsnn_tanh_mse_w256, std::string("gsnn"), std::string("mse"), 256)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(train_step, gsnn_tanh_mse_w256_reference, std::string("gsnn"), std::string("mse"),
                  256, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(train_step, mlp_tanh_mse_w256, std::string("mlp-tanh"), std::string("mse"), 256)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
