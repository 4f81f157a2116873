// GMNM, KAN and RBF: closed forms, gradients against finite differences,
// frozen centres, chunking, spline properties, learning and model files.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "io/model_file.hpp"
#include "nn/gmnm.hpp"
#include "nn/kan.hpp"
#include "nn/rbf.hpp"
#include "tasks/task.hpp"
#include "test_util.hpp"
#include "train/fit.hpp"

namespace gsnn {
namespace {

const auto f64 = torch::kFloat64;

// Central differences of sum(module(x) * weights) with respect to every
// entry of every parameter, against autograd (float64).
template <class Module>
void expect_gradients_match_finite_differences(Module& module, const torch::Tensor& x) {
  module->to(f64);
  const auto w = torch::randn({x.size(0), 1}, f64);
  auto loss = [&]() -> torch::Tensor { return (module->forward(x) * w).sum(); };
  module->zero_grad();
  loss().backward();
  for (const torch::Tensor& p : module->parameters()) {
    const torch::Tensor grad = p.grad().clone();
    torch::Tensor flat = p.data().view(-1);
    for (int64_t i = 0; i < flat.numel(); i += std::max<int64_t>(1, flat.numel() / 7)) {
      const double h = 1e-6, keep = flat[i].item<double>();
      torch::NoGradGuard guard;
      flat[i] = keep + h;
      const double up = loss().template item<double>();
      flat[i] = keep - h;
      const double down = loss().template item<double>();
      flat[i] = keep;
      EXPECT_NEAR(grad.view(-1)[i].item<double>(), (up - down) / (2 * h), 1e-6)
          << "parameter entry " << i;
    }
  }
}

TEST(Gmnm, OneComponentIsTheMahalanobisGaussian) {
  Gmnm g(GmnmOptions(2, 1).components(1));
  g->to(f64);
  const auto mu = torch::tensor({0.3, -0.2}, f64);
  const auto l = torch::tensor({{1.5, 0.0}, {0.7, 0.4}}, f64);  // Sigma^-1 = L^T L
  {
    torch::NoGradGuard guard;
    g->centres.copy_(mu.unsqueeze(0));
    g->projection.copy_(l.unsqueeze(0));
    g->mixing.fill_(2.0);
    g->bias.fill_(0.5);
  }
  const auto x = torch::randn({50, 2}, f64);
  const auto z = x - mu;
  const auto q = (z.matmul(l.t().matmul(l)) * z).sum(1, true);  // z^T Sigma^-1 z
  EXPECT_TRUE(torch::allclose(g->forward(x), 2.0 * torch::exp(-0.5 * q) + 0.5, 0, 1e-13));
}

TEST(Gmnm, RankOneIsTheGaussianRidge) {
  Gmnm g(GmnmOptions(3, 1).components(1).rank(1));
  g->to(f64);
  const auto a = torch::tensor({0.5, -1.0, 2.0}, f64);
  {
    torch::NoGradGuard guard;
    g->centres.zero_();
    g->projection.copy_(a.view({1, 1, 3}));
    g->offset.fill_(0.25);
    g->alpha.fill_(-1.5);  // enters squared
    g->mixing.fill_(1.0);
    g->bias.zero_();
  }
  const auto x = torch::randn({40, 3}, f64);
  const auto y = -1.5 * (x.matmul(a) + 0.25);
  EXPECT_TRUE(torch::allclose(g->forward(x).squeeze(1), torch::exp(-0.5 * y * y), 0, 1e-13));
}

TEST(Gmnm, GradientsMatchFiniteDifferences) {
  torch::manual_seed(0);
  Gmnm g(GmnmOptions(2, 2).components(5));
  expect_gradients_match_finite_differences(g, torch::randn({20, 2}, f64));
  Gmnm ridge(GmnmOptions(3, 1).components(4).rank(1));
  expect_gradients_match_finite_differences(ridge, torch::randn({20, 3}, f64));
}

TEST(Gmnm, ChunkedPredictionEqualsOnePass) {
  torch::manual_seed(1);
  Gmnm g(GmnmOptions(2, 1).components(900));  // chunks of 2330 points without gradients
  g->to(f64);
  const auto x = torch::randn({5000, 2}, f64);
  const auto whole = g->forward(x).detach();
  torch::NoGradGuard guard;
  EXPECT_TRUE(torch::allclose(g->forward(x), whole, 0, 1e-14));
}

// A model fitted on smooth2d through the pipeline (standardised data,
// initialise(), the one trainer).
TrainedModel fit_smooth2d(const std::string& model, const nlohmann::json& options, int64_t steps,
                          double* relative_l2 = nullptr) {
  const auto data = find_task("smooth2d").generate(1);
  FitRequest r;
  r.model = resolve_model(model, options);
  r.training.steps = steps;
  r.training.progress = false;
  auto fit = fit_model(data.train, data.validation, r);
  if (relative_l2) {
    const auto& test = *data.find("test");
    const auto pred = fit.model.predict(test.x).mean;
    *relative_l2 = ((pred - test.y).norm() / test.y.norm()).item<double>();
  }
  return fit.model;
}

torch::Tensor centres_of(TrainedModel& m) {
  return m.network->body().named_buffers().contains("layer.centres")
             ? m.network->body().named_buffers()["layer.centres"]
             : m.network->body().named_parameters()["layer.centres"];
}

TEST(Gmnm, FrozenCentresStayWhereInitialisationPutThem) {
  FitRequest r;
  r.model = resolve_model("gmnm", {{"components", 16}, {"learn_centres", false}});
  auto frozen = prepare_model(find_task("smooth2d").generate(1).train, r);
  const auto start = centres_of(frozen).clone();
  auto trained = fit_smooth2d("gmnm", {{"components", 16}, {"learn_centres", false}}, 200);
  EXPECT_TRUE(torch::equal(centres_of(trained), start));
  EXPECT_EQ(count_parameters(*trained.network), 16 * (4 + 2 + 2 + 1) + 1 + 1);  // + noise
  auto learned = fit_smooth2d("gmnm", {{"components", 16}}, 200);
  EXPECT_FALSE(torch::equal(centres_of(learned), start));
  // k-means++ starts the centres on training points, spread out: no two alike.
  const auto d = torch::cdist(start, start) + torch::eye(16) * 10;
  EXPECT_GT(d.min().item<double>(), 1e-3);
}

TEST(Kan, BasisIsAPartitionOfUnityInsideTheGrid) {
  KanLayer layer(KanLayerOptions(3, 2).grid_size(7).spline_order(3));
  layer->to(f64);
  const auto x = torch::rand({200, 3}, f64) * 1.998 - 0.999;  // inside [-1, 1]
  const auto b = layer->basis(x);
  ASSERT_EQ(b.sizes(), (std::vector<int64_t>{200, 3, 10}));
  EXPECT_TRUE(torch::allclose(b.sum(-1), torch::ones({200, 3}, f64), 0, 1e-12));
  EXPECT_GE(b.min().item<double>(), 0.0);
}

TEST(Kan, GridExtensionKeepsTheFunction) {
  torch::manual_seed(2);
  Kan kan(KanOptions({2, 4, 1}).grid_size(5));
  kan->to(f64);
  // Nested uniform knots (5 -> 10 intervals): the cubic spline space grows,
  // so least squares reproduces the old function exactly.
  const auto x = torch::rand({400, 2}, f64) * 1.8 - 0.9;
  for (auto& p : kan->parameters()) p.data().uniform_(-1, 1);
  const auto before = kan->forward(x).detach();
  kan->layers[0]->as<KanLayerImpl>()->extend_grid(10, x);
  EXPECT_EQ(kan->layers[0]->as<KanLayerImpl>()->spline_weight.size(2), 13);
  EXPECT_LT((kan->forward(x) - before).abs().max().item<double>(), 1e-7);  // least-squares rounding
}

TEST(Kan, GridUpdateFollowsTheDataAndKeepsTheFunctionThere) {
  torch::manual_seed(3);
  KanLayer layer(KanLayerOptions(1, 1).grid_size(8));
  layer->to(f64);
  for (auto& p : layer->parameters()) p.data().uniform_(-1, 1);
  const auto x = torch::rand({500, 1}, f64) * 0.8 + 0.1;  // data in [0.1, 0.9]
  const auto before = layer->forward(x).detach();
  layer->update_grid(x);
  const auto g = layer->grid[0];
  EXPECT_NEAR(g[3].item<double>(), 0.1, 0.01);  // the inner knots span the data
  EXPECT_NEAR(g[11].item<double>(), 0.9, 0.01);
  // The old spline restricted to the data is a cubic spline on the old knots,
  // so the new knots reproduce it only approximately.
  EXPECT_LT((layer->forward(x) - before).abs().max().item<double>(), 0.05);
}

// grid_update_every: the trainer hands each step's inputs to the KAN, whose
// grids follow them on the scheduled steps only (pykan's schedule), through
// gsnn's trainer; without it the grid stays where it started.
TEST(Kan, GridUpdatesWhileTrainingFollowTheSchedule) {
  const auto x = torch::linspace(0.2, 0.6, 64, f64).unsqueeze(1);  // standardised below
  const auto y = torch::sin(6 * x);
  for (const int64_t every : {0, 5}) {
    SCOPED_TRACE(every);
    torch::manual_seed(5);
    const ModelShape shape{{1}, 1};
    Network net(build_model(resolve_model("kan", {{"grid_from_data", false},
                                                  {"grid_update_every", every},
                                                  {"grid_update_until", 10}}),
                            shape),
                shape, true, 0.1);
    net->to(torch::kFloat64);
    const auto first_grid = [&] {
      return net->named_buffers()["body.layer.layers.0.grid"].clone();
    };
    const auto start = first_grid();
    TrainOptions o;
    o.steps = 20;
    o.progress = false;
    const auto objective = make_objective("mse", "regression");
    // The Network's scaling is the identity: the grid sees x itself.
    train_network(net, *objective, {x, y}, {}, o);
    const auto grid = first_grid();
    if (every == 0) {
      EXPECT_TRUE(torch::equal(grid, start));
    } else {
      EXPECT_NEAR(grid[0][3].item<double>(), 0.2, 0.01);  // the inner knots span the data
      EXPECT_NEAR(grid[0][8].item<double>(), 0.6, 0.01);
    }
  }
}

TEST(Kan, GradientsMatchFiniteDifferences) {
  torch::manual_seed(4);
  Kan kan(KanOptions({2, 3, 1}).grid_size(4));
  expect_gradients_match_finite_differences(kan, torch::rand({20, 2}, f64) * 1.6 - 0.8);
}

// Nearest-centre distances come in blocks of rows, never an m x m matrix.
TEST(Rbf, NearestCentreDistanceInBlocks) {
  const auto c = torch::rand({2500, 2}, f64);
  auto d = torch::cdist(c, c);
  d.fill_diagonal_(std::numeric_limits<double>::infinity());
  EXPECT_TRUE(torch::allclose(nearest_centre_distance(c), std::get<0>(d.min(1)), 0, 1e-15));
}

TEST(Rbf, OneUnitIsTheIsotropicGaussian) {
  Rbf r(RbfOptions(2, 1).units(1));
  r->to(f64);
  {
    torch::NoGradGuard guard;
    r->centres.copy_(torch::tensor({{0.5, -0.5}}, f64));
    r->log_width.fill_(std::log(0.7));
    r->weight.fill_(3.0);
    r->bias.fill_(-1.0);
  }
  const auto x = torch::randn({30, 2}, f64);
  const auto d2 = (x - torch::tensor({0.5, -0.5}, f64)).square().sum(1, true);
  EXPECT_TRUE(torch::allclose(r->forward(x), 3.0 * torch::exp(-d2 / (2 * 0.49)) - 1.0, 0, 1e-13));
  torch::manual_seed(5);
  Rbf small(RbfOptions(2, 1).units(6));
  expect_gradients_match_finite_differences(small, torch::randn({20, 2}, f64));
}

// Each family learns sin(pi x1) sin(pi x2) (smooth2d: 256 points) in 1000
// Adam steps at its default size; relative L2 on the 50 x 50 test grid.
TEST(Learning, GmnmKanRbfFitSmooth2d) {
  double gmnm = 1, kan = 1, rbf = 1;
  fit_smooth2d("gmnm", {}, 1000, &gmnm);
  fit_smooth2d("kan", {}, 1000, &kan);
  fit_smooth2d("rbf", {}, 1000, &rbf);
  EXPECT_LT(gmnm, 0.08);
  EXPECT_LT(kan, 0.15);
  EXPECT_LT(rbf, 0.12);
}

TEST(BasisModelFiles, GmnmKanRbfRoundTrip) {
  test::TempDir dir;
  const auto x = find_task("smooth2d").generate(2).train.x;
  for (const auto& [model, options] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"gmnm", {{"learn_centres", false}}},
                                                           {"gmnm", {{"rank", 1}}},
                                                           {"kan", {{"grid", 7}}},
                                                           {"rbf", {}}}) {
    auto m = fit_smooth2d(model, options, 20);
    save_model(m, dir.file(model));
    const auto loaded = load_model(dir.file(model));
    EXPECT_TRUE(torch::equal(m.predict(x).mean, loaded.predict(x).mean)) << model;
    EXPECT_EQ(loaded.spec.options, m.spec.options) << model;
  }
}

}  // namespace
}  // namespace gsnn
