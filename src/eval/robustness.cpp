#include "eval/robustness.hpp"

#include <torch/torch.h>

#include <algorithm>

namespace gsnn {
namespace {

constexpr int64_t kChunk = 500;  // examples per attack batch

// |t_i| over all values of each example, shaped to broadcast against t.
torch::Tensor per_example_norm(const torch::Tensor& t) {
  std::vector<int64_t> shape(size_t(t.dim()), 1);
  shape[0] = -1;
  return t.flatten(1).norm(2, 1).clamp_min(1e-30).view(shape);
}

torch::Tensor input_gradient(Network& network, const torch::Tensor& x, const torch::Tensor& y) {
  const auto input = x.detach().requires_grad_(true);
  const auto logits = network->forward(input).mean;
  const auto loss = torch::nn::functional::cross_entropy(
      logits, y.reshape({-1}).to(torch::kLong),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  return torch::autograd::grad({loss}, {input})[0];
}

double accuracy(Network& network, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard guard;
  const auto predicted = network->forward(x).mean.argmax(1);
  return (predicted == y.reshape({-1}).to(torch::kLong)).to(torch::kFloat64).mean().item<double>();
}

}  // namespace

torch::Tensor l2_perturbation(Network& network, const torch::Tensor& x, const torch::Tensor& y,
                              double eps, L2Attack attack, int64_t pgd_steps) {
  if (eps == 0) return torch::zeros_like(x);
  if (attack == L2Attack::FastGradient) {
    const auto g = input_gradient(network, x, y);
    return eps * g / per_example_norm(g);
  }
  const double step = 2.5 * eps / double(pgd_steps);
  auto delta = torch::zeros_like(x);
  for (int64_t k = 0; k < pgd_steps; ++k) {
    const auto g = input_gradient(network, x + delta, y);
    delta = delta + step * g / per_example_norm(g);
    delta = delta * (eps / per_example_norm(delta)).clamp_max(1);
  }
  return delta.detach();
}

nlohmann::json robustness_curves(Network& network, const Dataset& test, const RobustnessOptions& o,
                                 uint64_t seed) {
  const bool training = network->is_training();
  network->eval();
  const auto ref = reference_tensor(*network);  // device and dtype
  const int64_t n = std::min(o.points, test.size());
  const auto x = test.x.slice(0, 0, n).to(ref.device(), ref.scalar_type());
  const auto y = test.y.slice(0, 0, n).to(ref.device());
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  nlohmann::json noise = {{"std", o.noise_std}, {"accuracy", nlohmann::json::array()}};
  for (double s : o.noise_std) {
    const auto e = at::normal(0.0, 1.0, x.sizes(), generator, torch::kFloat64);
    noise["accuracy"].push_back(accuracy(network, x + s * e.to(x.options()), y));
  }
  auto attack_curve = [&](L2Attack attack) {
    nlohmann::json c = {{"eps", o.l2_eps}, {"accuracy", nlohmann::json::array()}};
    for (double eps : o.l2_eps) {
      double correct = 0;
      for (int64_t i = 0; i < n; i += kChunk) {
        const auto xc = x.slice(0, i, std::min(n, i + kChunk));
        const auto yc = y.slice(0, i, std::min(n, i + kChunk));
        const auto delta = l2_perturbation(network, xc, yc, eps, attack, o.pgd_steps);
        correct += accuracy(network, xc + delta, yc) * double(xc.size(0));
      }
      c["accuracy"].push_back(n > 0 ? correct / double(n) : 0.0);
    }
    return c;
  };
  nlohmann::json out = {{"points", n},
                        {"pgd_steps", o.pgd_steps},
                        {"noise", noise},
                        {"fgm_l2", attack_curve(L2Attack::FastGradient)},
                        {"pgd_l2", attack_curve(L2Attack::ProjectedGradient)}};
  network->train(training);
  return out;
}

}  // namespace gsnn
