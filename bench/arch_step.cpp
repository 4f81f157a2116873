// Time of one Adam training step (zero_grad, objective loss through the
// Network, backward, update) of seed 002 section 5's architectures at the
// registry's defaults: batch 128, float32, one intra-op thread, fixed seeds.
//   cnn*:  the image classifiers (5.1) on [128, 1, 28, 28] uniform images, 10
//          random classes, cross_entropy; plain, + attention, + GMNM head (16
//          rank-1 components, fixed centres), + both.
//   ae*:   the autoencoders (5.2) on the same images, targets their 784 pixels,
//          mse; plain, + attention, + GMNM channel multipliers, + both.
//   lstm*: LSTM(3), LSTM(3) + GMNM(100 full-rank components), LSTM(32) on
//          [128, 10, 4] normal sequences, 1 output, mse.
// Each model's initialise() (the GMNM's k-means++ start) runs before timing.
// The "parameters" counter is the Network's trainable count (the regression
// networks' noise included). bench/run.sh runs this as section "arch", next
// to bench/arch_step.py (the same models in Python PyTorch).
#include <benchmark/benchmark.h>

#include "core/runtime.hpp"
#include "nn/registry.hpp"
#include "train/objective.hpp"

namespace {

constexpr int64_t kBatch = 128;

void arch_step(benchmark::State& state, const std::string& family, const nlohmann::json& options) {
  gsnn::init_runtime({1, true});
  torch::manual_seed(0);
  gsnn::ModelShape shape;
  torch::Tensor x, y;
  bool regression = true;
  if (family == "lstm") {
    shape = {{10, 4}, 1};
    x = torch::randn({kBatch, 10, 4});
    y = torch::sin(x.sum({1, 2}, false)).unsqueeze(1);
  } else if (family == "cnn") {
    shape = {{1, 28, 28}, 10};
    x = torch::rand({kBatch, 1, 28, 28});
    y = torch::randint(0, 10, {kBatch, 1}).to(torch::kFloat32);
    regression = false;
  } else {  // autoencoder
    shape = {{1, 28, 28}, 784};
    x = torch::rand({kBatch, 1, 28, 28});
    y = x.flatten(1);
  }
  gsnn::Network net(gsnn::build_model(gsnn::resolve_model(family, options), shape), shape,
                    regression, 0.1);
  net->body().initialise(x, y);
  state.counters["parameters"] = double(gsnn::count_parameters(*net));
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  const auto objective = regression ? gsnn::make_objective("mse", "regression")
                                    : gsnn::make_objective("cross_entropy", "classification");
  const gsnn::Batch batch{x, y};
  for (auto _ : state) {
    opt.zero_grad();
    auto l = objective->loss(net, batch).total;
    l.backward();
    opt.step();
    benchmark::DoNotOptimize(l.data_ptr());
  }
}

const nlohmann::json kNone = nlohmann::json::object();
const nlohmann::json kAttention = {{"attention", true}};

}  // namespace

BENCHMARK_CAPTURE(arch_step, cnn, std::string("cnn"), kNone)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, cnn_attention, std::string("cnn"), kAttention)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, cnn_gmnm, std::string("cnn"), nlohmann::json{{"head", "gmnm"}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, cnn_gmnm_attention, std::string("cnn"),
                  nlohmann::json{{"head", "gmnm"}, {"attention", true}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, ae, std::string("autoencoder"), kNone)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, ae_attention, std::string("autoencoder"), kAttention)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, ae_gmnm, std::string("autoencoder"), nlohmann::json{{"gmnm", true}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, ae_attention_gmnm, std::string("autoencoder"),
                  nlohmann::json{{"gmnm", true}, {"attention", true}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, lstm3, std::string("lstm"), nlohmann::json{{"hidden", 3}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, lstm3_gmnm100, std::string("lstm"),
                  nlohmann::json{{"hidden", 3}, {"head", "gmnm"}, {"components", 100}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(arch_step, lstm32, std::string("lstm"), nlohmann::json{{"hidden", 32}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
