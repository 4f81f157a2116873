// Physics-informed solving: the built-in problems' data, the autograd
// Laplacian of every model kind, the pde objective and a small solve.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "experiment/spec.hpp"
#include "nn/forward_laplacian.hpp"
#include "nn/mlp.hpp"
#include "pde/objective.hpp"
#include "pde/problem.hpp"
#include "tasks/kind.hpp"
#include "test_util.hpp"
#include "train/fit.hpp"
#include "train_util.hpp"

namespace gsnn {
namespace {

const auto f64 = torch::kFloat64;

// -Lap u + kappa u - f of the exact solution, by the autograd Laplacian, on the
// interior collocation points; u - g on the boundary ones.
TEST(Pde, ExactSolutionsHaveZeroResidual) {
  for (const auto& problem : {poisson2d_problem(), helmholtz2d_problem()}) {
    const auto data = pde_task(problem).generate(1).train;
    const auto x = data.x.clone().requires_grad_(true);
    const auto u = problem.exact(x.select(1, 0), x.select(1, 1)).unsqueeze(1);
    const auto lap = laplacian(u, x);
    const auto target = data.y.select(1, 0).unsqueeze(1), kappa = data.y.select(1, 2).unsqueeze(1);
    const auto boundary = data.y.select(1, 1).unsqueeze(1) > 0.5;
    const auto residual = torch::where(boundary, u - target, -lap + kappa * u - target);
    EXPECT_LT(residual.abs().max().item<double>(), 1e-10 * target.abs().max().item<double>())
        << problem.name;
    EXPECT_EQ(boundary.sum().item<int64_t>(), 400) << problem.name;
    // Boundary points lie on the edge of [-1, 1]^2, interior points inside it.
    const auto edge = std::get<0>(data.x.abs().max(1)).unsqueeze(1);
    EXPECT_TRUE(torch::allclose(edge.masked_select(boundary), torch::ones({400}, f64)));
    EXPECT_LT(edge.masked_select(~boundary).max().item<double>(), 1.0);
  }
}

TEST(Pde, GridSamplingAndErrorGrid) {
  const auto task =
      configure_task("poisson2d", {{"sampling", "grid"}, {"interior", 100}, {"grid", 11}});
  EXPECT_EQ(task.name, "poisson2d[grid=11,interior=100,sampling=grid]");
  const auto d = task.generate(3);
  EXPECT_EQ(d.train.size(), 100 + 400);
  const auto& test = *d.find("test");
  EXPECT_EQ(test.size(), 121);
  EXPECT_TRUE(torch::allclose(
      test.y.squeeze(1),
      torch::sin(M_PI * test.x.select(1, 0)) * torch::sin(M_PI * test.x.select(1, 1)), 0, 1e-15));
  EXPECT_NE(test::error_message([] {
              configure_task("poisson2d", {{"sampling", "hex"}});
            }).find("expected one of: uniform, grid"),
            std::string::npos);
}

// resample_every: the first round trains on the task's training points, each
// later round of `every` steps on its own fresh draw (the same at every call),
// and a run through the runner trains on them; a grid cannot be redrawn.
TEST(Pde, CollocationPointsAreRedrawnEveryRound) {
  const auto task =
      configure_task("poisson2d", {{"interior", 50}, {"boundary", 8}, {"resample_every", 5}});
  const auto first = task.generate(3).train;
  ASSERT_TRUE(task.fresh_train);
  for (int64_t step : {1, 5}) EXPECT_TRUE(torch::equal(task.fresh_train(step, 3).x, first.x));
  const auto second = task.fresh_train(6, 3);
  EXPECT_FALSE(torch::equal(second.x, first.x));
  EXPECT_EQ(second.x.sizes(), first.x.sizes());
  EXPECT_TRUE(torch::equal(second.y.select(1, 1), first.y.select(1, 1)));  // same boundary rows
  EXPECT_TRUE(torch::equal(task.fresh_train(10, 3).x, second.x));
  EXPECT_TRUE(torch::equal(task.fresh_train(1, 3).x, first.x));  // rounds are drawn, not kept
  EXPECT_TRUE(torch::equal(task.fresh_train(6, 3).x, second.x));
  EXPECT_FALSE(torch::equal(task.fresh_train(6, 4).x, second.x));  // another data seed, same round
  EXPECT_TRUE(torch::equal(task.fresh_train(6, 3).x, second.x));
  // No interior point of one round appears in another (rounds once seeded by
  // sums of the generator's increment repeated each other shifted by a draw).
  std::vector<torch::Tensor> rounds;
  for (int64_t step : {1, 6, 11, 16}) rounds.push_back(task.fresh_train(step, 3).x.slice(0, 0, 50));
  for (size_t i = 0; i < rounds.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      EXPECT_GT(torch::cdist(rounds[i], rounds[j]).min().item<double>(), 0) << i << " " << j;
  EXPECT_NE(test::error_message([] {
              configure_task("poisson2d", {{"sampling", "grid"}, {"resample_every", 5}});
            }).find("resample_every needs sampling = \"uniform\""),
            std::string::npos);
  EXPECT_NE(test::error_message([] {
              test::TempDir d;
              test::run_quietly(
                  {{"name", "lbfgs"},
                   {"tasks", {{{"name", "poisson2d"}, {"options", {{"resample_every", 5}}}}}},
                   {"training", {{"optimizer", "lbfgs"}, {"steps", 5}}},
                   {"model", {{{"family", "mlp-tanh"}}}}},
                  d.file("out"));
            }).find("which optimizer lbfgs cannot follow"),
            std::string::npos);
  // Without the option, the task's definition (what results are keyed by) is as before.
  EXPECT_FALSE(find_task("poisson2d").definition["options"].contains("resample_every"));
  test::TempDir dir;
  const auto e = test::run_quietly(
      {{"name", "resampled"},
       {"tasks",
        {{{"name", "poisson2d"},
          {"options", {{"interior", 200}, {"boundary", 40}, {"resample_every", 20}}}}}},
       {"training", {{"steps", 60}, {"eval_every", 20}}},
       {"model", {{{"family", "mlp-tanh"}, {"options", {{"width", 16}}}}}}},
      dir.file("out"));
  const auto r = nlohmann::json::parse(
      test::read_all(run_directory(e, e.tasks.front().name, "mlp-tanh", 0) + "/result.json"));
  EXPECT_TRUE(std::isfinite(r["metrics"]["test"]["relative_l2"].get<double>()));
  EXPECT_EQ(r["steps_run"], 60);
}

// The autograd Laplacian of each model kind (through the Network's input
// scaling) against the 5-point finite-difference Laplacian of the model.
TEST(Pde, AutogradLaplacianOfEveryModelMatchesFiniteDifferences) {
  for (const std::string model : {"mlp-tanh", "gsnn", "gmnm", "kan", "rbf"}) {
    torch::manual_seed(11);
    Network net(build_model(resolve_model(model, {}), 2, 1), ModelShape{{2}, 1}, false, 0.1);
    net->to(f64);
    net->set_scaling(torch::tensor({0.1, -0.2}, f64), torch::tensor({0.7, 1.3}, f64),
                     torch::zeros({1}, f64), torch::ones({1}, f64));
    const auto x = (torch::rand({30, 2}, f64) * 1.6 - 0.8).requires_grad_(true);
    const auto lap = laplacian(net->forward(x).mean, x).detach();
    torch::NoGradGuard guard;
    const double h = 1e-4;
    auto u = [&](double dx, double dy) {
      return net->forward(x.detach() + torch::tensor({dx, dy}, f64)).mean;
    };
    const auto fd = (u(h, 0) + u(-h, 0) + u(0, h) + u(0, -h) - 4 * u(0, 0)) / (h * h);
    const double scale = lap.abs().max().item<double>();
    // Cubic B-splines are only C2 at their knots: finite differences lose accuracy there.
    const double tolerance = model == "kan" ? 1e-3 : 1e-5;
    EXPECT_LT((lap - fd).abs().max().item<double>(), tolerance * std::max(scale, 1.0)) << model;
  }
}

// The forward Laplacian (mlp with each activation, gmnm full and rank 1,
// kan, gsnn's mean path with each kind of activation, schedule and
// connection) equals the nested-autograd one, through the Network's input
// scaling.
TEST(Pde, ForwardLaplacianEqualsAutograd) {
  const std::vector<std::pair<std::string, nlohmann::json>> models = {
      {"mlp-tanh", {}},
      {"mlp-silu", {}},
      {"mlp-gelu", {}},
      {"mlp-relu", {}},
      {"gmnm", {{"rank", 0}}},
      {"gmnm", {{"rank", 1}}},
      {"kan", {{"grid_from_data", false}}},
      {"kan", {{"order", 2}, {"grid", 3}}},
      {"gsnn", {}},
      {"gsnn", {{"activation", "relu"}, {"depth", 3}, {"residual", true}}},
      {"gsnn", {{"activation", "probit"}, {"tau_schedule", "learned"}, {"tau_per_unit", true}}},
      {"gsnn", {{"activation", "erf"}, {"tau", 0.0}}},
      {"gsnn", {{"activation", "sin"}, {"tau_schedule", "geometric"}}},
      {"gsnn", {{"activation", "bump"}}},
      {"gsnn", {{"activation", "gelu"}}},
      {"gsnn", {{"mean_only", true}, {"depth", 3}}}};
  for (const auto& [model, options] : models) {
    torch::manual_seed(12);
    Network net(build_model(resolve_model(model, options), 3, 2), ModelShape{{3}, 2}, false, 0.1);
    net->to(f64);
    net->set_scaling(torch::tensor({0.1, -0.2, 0.3}, f64), torch::tensor({0.7, 1.3, 2.0}, f64),
                     torch::zeros({2}, f64), torch::ones({2}, f64));
    const auto x = (torch::rand({25, 3}, f64) * 2 - 1).requires_grad_(true);
    const auto [u, lap] = net->value_and_laplacian(x);
    ASSERT_TRUE(lap.defined()) << model;
    const auto reference = net->forward(x).mean;
    EXPECT_TRUE(torch::allclose(u, reference, 0, 1e-12)) << model;
    for (int64_t k = 0; k < 2; ++k) {
      const auto expected = laplacian(reference.select(1, k).unsqueeze(1), x).squeeze(1);
      EXPECT_LT((lap.select(1, k) - expected).abs().max().item<double>(),
                1e-10 * std::max(1.0, expected.abs().max().item<double>()))
          << model << " output " << k;
    }
    // Training differentiates through it: the parameters' gradients of a
    // Laplacian loss agree too.
    const auto params = net->parameters();
    auto gradients = [&](const torch::Tensor& l) {
      return torch::autograd::grad({l.square().sum()}, params, {}, true, false, true);
    };
    std::vector<torch::Tensor> nested;
    for (int64_t k = 0; k < 2; ++k)
      nested.push_back(laplacian(reference.select(1, k).unsqueeze(1), x));
    const auto forward_grads = gradients(lap), nested_grads = gradients(torch::cat(nested, 1));
    for (size_t i = 0; i < params.size(); ++i) {
      // Undefined: the Laplacian does not depend on it (a ReLU network's is 0).
      auto value = [&](const torch::Tensor& g) {
        return g.defined() ? g : torch::zeros_like(params[i]);
      };
      const auto expected = value(nested_grads[i]);
      EXPECT_LT((value(forward_grads[i]) - expected).abs().max().item<double>(),
                1e-9 * std::max(1.0, expected.abs().max().item<double>()))
          << model << " parameter " << i;
    }
  }
  // Without gradients anywhere (frozen parameters, evaluation), the GSNN's
  // partials are still taken: the same Laplacian.
  {
    torch::manual_seed(12);
    Network net(build_model(resolve_model("gsnn", {}), 3, 1), ModelShape{{3}, 1}, false, 0.1);
    net->to(f64);
    const auto x = torch::rand({10, 3}, f64);
    const auto trained = net->value_and_laplacian(x).second.detach();
    for (auto& p : net->parameters()) p.requires_grad_(false);
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(net->value_and_laplacian(x).second, trained, 1e-13, 1e-13));
  }
  // Families without one say so (the pde objective then uses autograd).
  Network rbf(build_model(resolve_model("rbf", {}), 2, 1), ModelShape{{2}, 1}, false, 0.1);
  EXPECT_FALSE(rbf->value_and_laplacian(torch::zeros({3, 2})).second.defined());
}

// The fused activation step of the forward Laplacian: its analytic backward
// (s''' included) equals the backward of the same formulas in ATen ops, and
// so does the backward that builds a graph (create_graph) for higher orders.
TEST(Pde, FusedLaplacianActivationMatchesItsFormulas) {
  torch::manual_seed(3);
  for (const std::string name : {"tanh", "relu", "silu", "gelu"}) {
    const auto a = (torch::randn({6, 5}, f64) * 2).requires_grad_(true);
    const auto jac = torch::randn({6, 3, 5}, f64).requires_grad_(true);
    const auto lap = torch::randn({6, 5}, f64).requires_grad_(true);
    const auto w = torch::rand({3}, f64) + 0.5;
    const auto r = torch::randn({3, 6, 5}, f64);
    auto loss = [&](const torch::Tensor& h, const torch::Tensor& j, const torch::Tensor& l) {
      return (h * r[0] + j.sum(1) * r[1] + l * r[2]).sum();
    };
    const auto fused = activate_laplacian(name, {a, jac, lap}, w);
    const auto [s, d1, d2] = activation_and_derivatives(name, a);
    const auto expected_j = jac * d1.unsqueeze(1);
    const auto expected_l = d1 * lap + d2 * (jac.square() * w.view({1, -1, 1})).sum(1);
    EXPECT_TRUE(torch::allclose(fused.h, s, 1e-12, 1e-12)) << name;
    EXPECT_TRUE(torch::allclose(fused.jac, expected_j, 1e-12, 1e-12)) << name;
    EXPECT_TRUE(torch::allclose(fused.lap, expected_l, 1e-12, 1e-12)) << name;
    const std::vector<torch::Tensor> inputs = {a, jac, lap};
    const auto reference =
        torch::autograd::grad({loss(s, expected_j, expected_l)}, inputs, {}, true, false, true);
    for (const bool graph : {false, true}) {
      const auto got = torch::autograd::grad({loss(fused.h, fused.jac, fused.lap)}, inputs, {},
                                             true, graph, true);
      for (size_t k = 0; k < inputs.size(); ++k)
        EXPECT_TRUE(torch::allclose(got[k], reference[k], 1e-10, 1e-12))
            << name << " input " << k << (graph ? " (create_graph)" : "");
    }
  }
}

// A small solve of poisson2d (400 interior + 80 boundary points): Adam, then
// L-BFGS from where Adam stopped, through the runner's pipeline pieces.
TEST(Pde, SmallPoissonSolveWithAdamThenLbfgs) {
  const auto task = configure_task("poisson2d", {{"interior", 400}, {"boundary", 80}});
  const auto data = task.generate(1);
  for (const auto& [model, options] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"mlp-tanh", {{"width", 20}}}, {"gmnm", {{"components", 64}}}}) {
    FitRequest r;
    r.model = resolve_model(model, options);
    r.kind = "pde";
    r.dtype = "float64";
    r.training.loss = "pde";
    r.training.steps = 300;
    r.training.lbfgs_steps = 300;
    r.training.progress = false;
    auto fit = fit_model(data.train, data.validation, r);
    ASSERT_EQ(fit.result.phases.size(), 2u) << model;
    EXPECT_EQ(fit.result.phases[0].optimizer, "adam");
    EXPECT_EQ(fit.result.phases[1].optimizer, "lbfgs");
    EXPECT_GT(fit.result.curve.back().step, 300);  // the L-BFGS curve continues Adam's
    const auto& parts = fit.result.curve.back().parts;
    EXPECT_EQ(parts[0].first, "residual");
    EXPECT_EQ(parts[1].first, "boundary");
    const auto metrics = evaluate_model(fit.model, data);
    // Measured 0.057 (mlp-tanh) and 0.062 (gmnm).
    EXPECT_LT(metrics["test"]["relative_l2"].get<double>(), 0.15) << model;
    EXPECT_EQ(fit.model.outputs, std::vector<std::string>{"u"});
  }
}

// A user's problem from an experiment file: expressions evaluated at the
// collocation points, the exact solution's residual ~0 (kappa = 1 and a
// non-zero boundary), a short run, and clear errors for bad input.
TEST(Pde, UserProblemFromAnExperimentFile) {
  test::TempDir dir;
  const std::string models = "\n[training]\nsteps = 50\n[[model]]\nfamily = \"mlp-tanh\"\n";
  const auto e = load_experiment(dir.write("e.toml", R"(name = "user"
[[pde]]
name = "membrane"
domain = [[0, 1], [0, 2]]
kappa = 1.0
source = "(1 + 1.25 * pi^2) * sin(pi * x) * sin(pi * y / 2) + x * y"
boundary = "x * y"
exact = "sin(pi * x) * sin(pi * y / 2) + x * y"
options = { interior = 300, boundary = 60 }
)" + models));
  ASSERT_EQ(e.tasks.size(), 1u);
  const auto data = e.tasks[0].generate(1);
  const auto x = data.train.x.clone().requires_grad_(true);
  const auto px = x.select(1, 0), py = x.select(1, 1);
  const auto u = (torch::sin(M_PI * px) * torch::sin(M_PI * py / 2) + px * py).unsqueeze(1);
  const auto target = data.train.y.select(1, 0).unsqueeze(1);
  const auto boundary = data.train.y.select(1, 1).unsqueeze(1) > 0.5;
  const auto residual = torch::where(boundary, u - target, -laplacian(u, x) + u - target);
  EXPECT_LT(residual.abs().max().item<double>(), 1e-10);
  EXPECT_LE(data.train.x.select(1, 1).max().item<double>(), 2.0);
  EXPECT_EQ(data.find("test")->size(), 101 * 101);

  auto error = [&](const std::string& table) {
    return test::error_message([&] {
      load_experiment(dir.write("bad.toml", "[[pde]]\nname = \"p\"\n" + table + models));
    });
  };
  const std::string good = "domain = [[0, 1], [0, 1]]\nboundary = \"0\"\n";
  auto m = error(good + "source = \"sin(pi * x\"\n");
  EXPECT_NE(m.find("bad.toml:5: key 'pde[0].source'"), std::string::npos) << m;
  EXPECT_NE(m.find("at position"), std::string::npos) << m;
  m = error(good + "source = \"z * x\"\n");
  EXPECT_NE(m.find("key 'pde[0].source'"), std::string::npos) << m;
  EXPECT_NE(m.find("\"z\""), std::string::npos) << m;  // muparser names the unknown token
  m = error("domain = \"circle\"\nboundary = \"0\"\nsource = \"1\"\n");
  EXPECT_NE(m.find("key 'pde[0].domain': domain: only rectangles are supported"), std::string::npos)
      << m;
  m = error("domain = [[0, 1], [0, 1], [0, 1]]\nboundary = \"0\"\nsource = \"1\"\n");
  EXPECT_NE(m.find("only rectangles"), std::string::npos) << m;
  m = error(good);
  EXPECT_NE(m.find("key 'pde[0].source': source: missing"), std::string::npos) << m;
  m = error(good + "source = \"x, y\"\n");  // a muparser list, not one value
  EXPECT_NE(m.find("one value expected"), std::string::npos) << m;
  m = error("domain = [[-1e308, 1e308], [0, 1]]\nboundary = \"0\"\nsource = \"1\"\n");
  EXPECT_NE(m.find("finite widths"), std::string::npos) << m;  // the width overflows
  m = error(good + "source = \"1\"\noptions = { sampling = \"hex\" }\n");
  EXPECT_NE(m.find("key 'pde[0].options.sampling'"), std::string::npos) << m;
}

}  // namespace
}  // namespace gsnn
