// Noise and L2-attack robustness of a classifier: the perturbations respect
// their bound and raise the loss; the curves start at the clean accuracy.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "eval/robustness.hpp"
#include "experiment/runner.hpp"
#include "nn/registry.hpp"
#include "report/report.hpp"
#include "test_util.hpp"
#include "train/trainer.hpp"
#include "train_util.hpp"

namespace gsnn {
namespace {

// Two Gaussian classes in 6-D, centres 1.5 apart, and a small tanh MLP fitted to them.
struct Fitted {
  Network network{nullptr};
  torch::Tensor x, y;
};

Fitted fit_two_classes() {
  torch::manual_seed(0);
  const auto y = torch::randint(0, 2, {400, 1}).to(torch::kFloat32);
  const auto x = torch::randn({400, 6}) + 1.5 * (y - 0.5);
  Network net(build_model(resolve_model("mlp-tanh", {{"width", 16}}), 6, 2), ModelShape{{6}, 2},
              false, 0.1);
  TrainOptions o;
  o.steps = 200;
  o.loss = "cross_entropy";
  o.progress = false;
  const auto objective = make_objective("cross_entropy", "classification");
  train_network(net, *objective, {x, y}, {}, o);
  net->eval();
  return {net, x, y};
}

double loss(Network& net, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard guard;
  return torch::nn::functional::cross_entropy(net->forward(x).mean,
                                              y.reshape({-1}).to(torch::kLong))
      .item<double>();
}

TEST(Robustness, L2AttacksStayInTheirBallAndRaiseTheLoss) {
  auto f = fit_two_classes();
  const double clean = loss(f.network, f.x, f.y);
  for (const auto attack : {L2Attack::FastGradient, L2Attack::ProjectedGradient})
    for (const double eps : {0.1, 0.5, 2.0}) {
      const auto delta = l2_perturbation(f.network, f.x, f.y, eps, attack, 10);
      EXPECT_LE(delta.flatten(1).norm(2, 1).max().item<double>(), eps * (1 + 1e-6));
      EXPECT_GT(loss(f.network, f.x + delta, f.y), clean);
      // A random direction of the same size hurts far less than the attack.
      auto random = torch::randn_like(f.x);
      random = eps * random / random.norm(2, 1, true);
      EXPECT_GT(loss(f.network, f.x + delta, f.y), loss(f.network, f.x + random, f.y));
    }
}

TEST(Robustness, CurvesStartAtTheCleanAccuracyAndFall) {
  auto f = fit_two_classes();
  Dataset test{f.x, f.y.to(torch::kFloat64), {}, {"class"}, {"0", "1"}};
  const auto r = robustness_curves(f.network, test, {{0, 1}, {0, 1, 3}, 10, 300}, 1);
  EXPECT_EQ(r["points"], 300);
  const double clean = r["noise"]["accuracy"][0];
  EXPECT_GT(clean, 0.75);
  EXPECT_EQ(r["fgm_l2"]["accuracy"][0].get<double>(), clean);
  EXPECT_EQ(r["pgd_l2"]["accuracy"][0].get<double>(), clean);
  for (const char* curve : {"fgm_l2", "pgd_l2"}) {
    EXPECT_LT(r[curve]["accuracy"][1].get<double>(), clean) << curve;
    EXPECT_LT(r[curve]["accuracy"][2].get<double>(), r[curve]["accuracy"][1].get<double>())
        << curve;
  }
  // PGD finds at least as many adversarial examples as one fast-gradient step.
  EXPECT_LE(r["pgd_l2"]["accuracy"][2].get<double>(), r["fgm_l2"]["accuracy"][2].get<double>());
}

// The smoke version of examples/experiments/fashion-robustness.toml: a
// length-scale network on a slice of fashion-mnist, its robustness curves in
// the result and in the report, and a report that survives a damaged record.
TEST(Robustness, FashionMnistRunRecordsAndReportsCurves) {
  test::TempDir dir;
  const nlohmann::json task = {
      {"name", "fashion-mnist"},
      {"options", {{"train", 300}, {"validation", 50}, {"test", 200}, {"robustness_points", 100}}}};
  const auto e = test::run_quietly({{"name", "fashion"},
                                    {"tasks", {task}},
                                    {"training", {{"steps", 30}, {"eval_every", 10}}},
                                    {"model",
                                     {{{"family", "lengthscale-tanh"},
                                       {"options", {{"width", 32}}},
                                       {"sweep", {{"inv_sigma", {1, 2}}}}}}}},
                                   dir.file("results"));
  const auto path =
      run_directory(e, e.tasks.front().name, "lengthscale-tanh[inv_sigma=1]", 0) + "/result.json";
  auto record = nlohmann::json::parse(test::read_all(path));
  const auto& r = record["robustness"];
  EXPECT_EQ(r["points"], 100);
  EXPECT_EQ(r["pgd_l2"]["eps"].size(), r["pgd_l2"]["accuracy"].size());
  // Every curve starts from the same clean accuracy of those 100 test images.
  const double clean = r["noise"]["accuracy"][0];
  EXPECT_GT(clean, 0.1);
  EXPECT_EQ(r["fgm_l2"]["accuracy"][0].get<double>(), clean);
  EXPECT_EQ(r["pgd_l2"]["accuracy"][0].get<double>(), clean);
  write_report(dir.file("results"), dir.file("report"));
  const auto html = test::read_all(dir.file("report/index.html"));
  EXPECT_NE(html.find("projected-gradient attack"), std::string::npos);
  // A classifier sweep is drawn by accuracy (it once failed on the missing MSE).
  EXPECT_NE(html.find("test accuracy against inv_sigma"), std::string::npos);
  record["robustness"] = {{"noise", {{"std", {-1e308, 1e308}}, {"accuracy", {-1e308, 1e308}}}},
                          {"fgm_l2", {{"eps", {1, "a"}}, {"accuracy", {0.5}}}},
                          {"pgd_l2", "x"}};
  std::ofstream(path) << record.dump();
  EXPECT_NO_THROW(write_report(dir.file("results"), dir.file("report2")));
}

}  // namespace
}  // namespace gsnn
