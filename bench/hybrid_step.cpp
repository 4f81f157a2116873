// Time of one full-batch Adam step of seed 001's hybrid networks against the
// GSNN and the ReLU MLP at equal parameter count: 2 inputs, depth 2, batch
// 1024, float32, one thread. The GSNN and the MLP have width 64; each hybrid
// takes the width whose parameter count is nearest theirs. bench/run.sh
// writes the ratios to docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <cmath>

#include "core/runtime.hpp"
#include "nn/registry.hpp"
#include "train/objective.hpp"

namespace {

gsnn::Network network(const std::string& family, const nlohmann::json& options) {
  return gsnn::Network(gsnn::build_model(gsnn::resolve_model(family, options), 2, 1),
                       gsnn::ModelShape{{2}, 1}, true, 0.1);
}

// `options` plus the width (1 .. 256) whose parameter count is nearest the GSNN's at width 64.
nlohmann::json at_equal_size(const std::string& family, nlohmann::json options) {
  const auto target = gsnn::count_parameters(*network("gsnn", {{"width", 64}}));
  int64_t best = 1;
  double best_gap = INFINITY;
  for (int64_t w = 1; w <= 256; ++w) {
    options["width"] = w;
    const double gap = std::abs(double(gsnn::count_parameters(*network(family, options))) - target);
    if (gap < best_gap) best_gap = gap, best = w;
  }
  options["width"] = best;
  return options;
}

void step(benchmark::State& state, const std::string& family, const nlohmann::json& options,
          const std::string& loss, const std::string& penalty) {
  gsnn::init_runtime({1, true});
  torch::manual_seed(0);
  auto r = network(family, at_equal_size(family, options));
  state.counters["parameters"] = double(gsnn::count_parameters(*r));
  torch::optim::Adam opt(r->parameters(), torch::optim::AdamOptions(1e-3));
  const auto x = torch::rand({1024, 2}) * 2 - 1;
  const auto y = torch::sin(3 * x.select(1, 0)).unsqueeze(1);
  const auto objective = gsnn::make_objective(loss, "regression");
  if (!penalty.empty()) r->body().request_penalties({penalty});
  const gsnn::Batch batch{x, y};
  for (auto _ : state) {
    opt.zero_grad();
    auto l = objective->loss(r, batch).total;
    for (const auto& [name, value] : r->body().take_penalties())
      if (name == penalty) l = l + 1e-3 * value;
    l.backward();
    opt.step();
    benchmark::DoNotOptimize(l.data_ptr());
  }
}

const nlohmann::json kNone = nlohmann::json::object();

}  // namespace

BENCHMARK_CAPTURE(step, gsnn, std::string("gsnn"), kNone, std::string("mse"), std::string())
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(step, mlp_relu, std::string("mlp-relu"), kNone, std::string("mse"), std::string())
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(step, hybrid_mix, std::string("hybrid"), nlohmann::json{{"combine", "mix"}},
                  std::string("mse"), std::string())
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(step, hybrid_gate, std::string("hybrid"), nlohmann::json{{"combine", "gate"}},
                  std::string("mse"), std::string())
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(step, hybrid_stabilise, std::string("hybrid"),
                  nlohmann::json{{"combine", "stabilise"}}, std::string("mse"), std::string())
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(step, hybrid_experts_moe, std::string("hybrid"),
                  nlohmann::json{{"combine", "experts"}}, std::string("moe"), std::string())
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(step, hybrid_experts_moe_smoothness, std::string("hybrid"),
                  nlohmann::json{{"combine", "experts"}}, std::string("moe"),
                  std::string("smoothness"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
