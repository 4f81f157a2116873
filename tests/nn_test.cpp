// Layers and models: exact moment propagation against Monte Carlo, tau
// schedules, the registry's validation, and learning a known function.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "nn/gaussian_linear.hpp"
#include "nn/gsnn_model.hpp"
#include "nn/mlp.hpp"
#include "nn/registry.hpp"
#include "tasks/task.hpp"
#include "train/fit.hpp"

namespace gsnn {
namespace {

TEST(GaussianLinear, MatchesMonteCarlo) {
  torch::manual_seed(1);
  GaussianLinear layer(3, 2);
  layer->to(torch::kFloat64);
  const auto m = torch::tensor({{0.5, -1.0, 2.0}}, torch::kFloat64);
  const auto v = torch::tensor({{0.1, 0.4, 0.0}}, torch::kFloat64);
  const auto out = layer->forward({m, v});
  const int64_t n = 400000;
  const auto x = m + v.sqrt() * torch::randn({n, 3}, torch::kFloat64);
  const auto y = layer->linear->forward(x);
  EXPECT_TRUE(torch::allclose(out.mean, y.mean(0, true), 0, 5e-3));
  EXPECT_TRUE(torch::allclose(out.var, y.var(0, true, true), 1e-2, 1e-3));
}

TEST(Gsnn, OneLayerMomentsMatchMonteCarlo) {
  // With one hidden layer and noise-free inputs, every unit's pre-activation
  // is exactly Gaussian and units are independent (independent tau noise),
  // so the output mean and variance are exact.
  torch::manual_seed(2);
  for (const auto& act : {"erf-tanh", "relu", "sin", "gelu"}) {
    GsnnOptions o;
    o.inputs = 2;
    o.depth = 1;
    o.width = 4;
    o.tau = 0.7;
    o.activation = parse_activation(act);
    Gsnn net(o);
    net->to(torch::kFloat64);
    const auto m = torch::tensor({{0.3, -0.8}}, torch::kFloat64);
    const auto v = torch::zeros({1, 2}, torch::kFloat64);
    const auto out = net->forward({m, v});

    const int64_t n = 400000;
    auto params = net->named_parameters();
    const auto w1 = params["hidden0.linear.weight"], b1 = params["hidden0.linear.bias"];
    const auto w2 = params["readout.linear.weight"], b2 = params["readout.linear.bias"];
    const auto z = torch::matmul(m, w1.t()) + b1 + 0.7 * torch::randn({n, 4}, torch::kFloat64);
    const auto y = torch::matmul(activate(o.activation, z), w2.t()) + b2;
    const double sd = y.std().item<double>();
    EXPECT_NEAR(out.mean.item<double>(), y.mean().item<double>(), 5 * sd / std::sqrt(n)) << act;
    EXPECT_NEAR(out.var.item<double>(), y.var().item<double>(), 0.03 * y.var().item<double>())
        << act;
  }
}

TEST(Gsnn, TauSchedules) {
  GsnnOptions o;
  o.depth = 3;
  o.width = 4;
  o.tau = 0.8;
  o.tau_schedule = TauSchedule::Geometric;
  o.tau_ratio = 0.5;
  Gsnn geo(o);
  EXPECT_NEAR(geo->tau_squared(2).item<double>(), std::pow(0.8 * 0.25, 2), 1e-6);
  EXPECT_EQ(count_parameters(*geo), (1 * 4 + 4) + 2 * (4 * 4 + 4) + (4 + 1));

  o.tau_schedule = TauSchedule::Learned;
  o.tau_per_unit = true;
  Gsnn learned(o);
  EXPECT_NEAR(learned->tau_squared(1)[3].item<double>(), 0.64, 1e-5);
  EXPECT_EQ(count_parameters(*learned), count_parameters(*geo) + 3 * 4);
  auto out = learned->forward({torch::randn({5, 1}), torch::zeros({5, 1})});
  out.mean.sum().backward();
  for (int l = 0; l < 3; ++l)
    EXPECT_GT(learned->named_parameters()[fmt::format("hidden{}.tau_rho", l)]
                  .grad()
                  .abs()
                  .sum()
                  .item<double>(),
              0)
        << l;
  // The tau parameters form their own group (no weight decay, own lr).
  const auto groups = learned->parameter_groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].name, "tau");
  EXPECT_EQ(groups[1].parameters.size(), 3u);
  EXPECT_FALSE(groups[1].weight_decay);
}

TEST(Gsnn, MeanOnlyAblationAndResidual) {
  GsnnOptions o;
  o.inputs = 2;
  o.depth = 3;
  o.width = 5;
  o.mean_only = true;
  o.residual = true;
  torch::manual_seed(3);
  Gsnn net(o);
  const auto x = torch::randn({4, 2});
  const auto out = net->forward({x, torch::zeros_like(x)});
  EXPECT_EQ(out.mean.sizes(), (std::vector<int64_t>{4, 1}));
  EXPECT_TRUE((out.var > 0).all().item<bool>());
  // mean-only carries the variance unchanged, so it cannot depend on the input mean
  const auto out2 = net->forward({x + 1.0, torch::zeros_like(x)});
  EXPECT_TRUE(torch::allclose(out.var, out2.var));
}

TEST(Registry, ValidatesOptions) {
  EXPECT_EQ(resolve_model("mlp-tanh", {}).options["activation"], "tanh");
  EXPECT_EQ(resolve_model("gsnn", {{"tau", 1}}).options["tau"], 1.0);  // int accepted as number
  EXPECT_THROW(resolve_model("transformer", {}), std::invalid_argument);
  EXPECT_THROW(resolve_model("gsnn", {{"depht", 2}}), std::invalid_argument);
  EXPECT_THROW(resolve_model("gsnn", {{"depth", "two"}}), std::invalid_argument);
  EXPECT_THROW(resolve_model("gsnn", {{"depth", 0}}), std::invalid_argument);
  EXPECT_THROW(resolve_model("gsnn", {{"activation", "softsign"}}), std::invalid_argument);
  try {
    resolve_model("gsnn", {{"widht", 3}});
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("widht"), std::string::npos);
  }
}

TEST(Registry, EqualSizeAtEqualShape) {
  const auto g = build_model(resolve_model("gsnn", {}), 2, 1);
  const auto m = build_model(resolve_model("mlp-relu", {}), 2, 1);
  EXPECT_EQ(count_parameters(*g), count_parameters(*m));
}

// Each family learns the smooth 2D task within a small budget.
double smooth2d_test_mse(const std::string& model) {
  const auto data = find_task("smooth2d").generate(1);
  FitRequest r;
  r.model = resolve_model(model, {{"width", 16}});
  r.training.steps = 600;
  r.training.progress = false;
  auto fit = fit_model(data.train, data.validation, r);
  const auto pred = fit.model.predict(data.find("test")->x);
  return (pred.mean - data.find("test")->y).pow(2).mean().item<double>();
}

TEST(Learning, GsnnFitsSmooth2d) { EXPECT_LT(smooth2d_test_mse("gsnn"), 5e-3); }
TEST(Learning, MlpFitsSmooth2d) { EXPECT_LT(smooth2d_test_mse("mlp-tanh"), 5e-3); }

}  // namespace
}  // namespace gsnn
