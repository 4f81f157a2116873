// One training step (forward, backward, Adam update) of the seed-002 models:
// GMNM and KAN fitting 4000 points in 2-D (float32), and physics-informed
// steps on poisson2d's 2500 + 400 collocation points (float64): the PINN
// [2,50,50,50,1] tanh, the KAN [2,10,10,1] and GMNM with 900 rank-1 components, each with the
// nested-autograd Laplacian and with gsnn's forward Laplacian. One thread.
// bench/run.sh runs it next to bench/basis_step.py (the same in PyTorch).
#include <benchmark/benchmark.h>

#include "core/runtime.hpp"
#include "nn/registry.hpp"
#include "pde/objective.hpp"
#include "tasks/task.hpp"

namespace {

using gsnn::Batch;
using gsnn::Network;

Network make(const std::string& model, const nlohmann::json& options, torch::Dtype dtype) {
  gsnn::init_runtime({1, true});
  torch::manual_seed(0);
  Network net(gsnn::build_model(gsnn::resolve_model(model, options), 2, 1),
              gsnn::ModelShape{{2}, 1}, false, 0.1);
  net->to(dtype);
  return net;
}

template <class Loss>
void adam_steps(benchmark::State& state, Network& net, Loss loss) {
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  for (auto _ : state) {
    opt.zero_grad();
    auto l = loss();
    l.backward();
    opt.step();
    benchmark::DoNotOptimize(l.data_ptr());
  }
}

void fit_step(benchmark::State& state, const std::string& model, const nlohmann::json& options) {
  auto net = make(model, options, torch::kFloat32);
  const auto x = torch::rand({4000, 2}) * 2 - 1;
  const auto y = torch::sin(3 * x.select(1, 0)).unsqueeze(1);
  adam_steps(state, net, [&] { return (net->forward(x).mean - y).square().mean(); });
}

void pde_step(benchmark::State& state, const std::string& model, const nlohmann::json& options,
              bool forward_laplacian) {
  auto net = make(model, options, torch::kFloat64);
  const auto data = gsnn::find_task("poisson2d").generate(1).train;
  const Batch batch{data.x, data.y};
  const auto objective = gsnn::make_pde_objective();
  adam_steps(state, net, [&] {
    if (forward_laplacian) return objective->loss(net, batch).total;
    // The same loss with the Laplacian by nested autograd.
    const auto x = batch.x.detach().requires_grad_(true);
    const auto u = net->forward(x).mean;
    const auto lap = gsnn::laplacian(u, x);
    const auto boundary = batch.y.select(1, 1).unsqueeze(1) > 0.5;
    const auto target = batch.y.select(1, 0).unsqueeze(1);
    const auto r = torch::where(boundary, u - target, -lap - target).square();
    return r.masked_select(~boundary).mean() + r.masked_select(boundary).mean();
  });
}

const nlohmann::json kGmnm900 = {{"components", 900}, {"rank", 1}, {"learn_centres", false}};
const nlohmann::json kPinn = {{"width", 50}, {"depth", 3}};

}  // namespace

BENCHMARK_CAPTURE(fit_step, gmnm200_fit, std::string("gmnm"), nlohmann::json{{"components", 200}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(fit_step, kan_2_10_10_1_fit, std::string("kan"),
                  nlohmann::json{{"width", 10}, {"grid_from_data", false}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(pde_step, pinn_pde_autograd, std::string("mlp-tanh"), kPinn, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(pde_step, pinn_pde_forward, std::string("mlp-tanh"), kPinn, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(pde_step, kan_2_10_10_1_pde_autograd, std::string("kan"),
                  nlohmann::json{{"width", 10}, {"grid_from_data", false}}, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(pde_step, kan_2_10_10_1_pde_forward, std::string("kan"),
                  nlohmann::json{{"width", 10}, {"grid_from_data", false}}, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(pde_step, gmnm900_pde_autograd, std::string("gmnm"), kGmnm900, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(pde_step, gmnm900_pde_forward, std::string("gmnm"), kGmnm900, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(pde_step, gsnn_pde_autograd, std::string("gsnn"), nlohmann::json::object(), false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(pde_step, gsnn_pde_forward, std::string("gsnn"), nlohmann::json::object(), true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
