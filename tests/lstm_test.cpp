// Seed 002 section 5.3's sequence models: LSTM(3), LSTM(3) + GMNM(100),
// LSTM(32). Forward shapes and parameter counts by hand, a one-batch overfit
// per architecture, the GMNM head's gradients reaching the LSTM, refusals,
// the four-signals task against eq. (5), and a run through `gsnn run`'s
// pipeline that learns the task to a stated accuracy.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "experiment/runner.hpp"
#include "io/model_file.hpp"
#include "nn/lstm.hpp"
#include "nn/registry.hpp"
#include "tasks/builtin.hpp"
#include "test_util.hpp"
#include "train/fit.hpp"
#include "train/trainer.hpp"
#include "train_util.hpp"

namespace gsnn {
namespace {

const ModelShape kSignals{{10, 4}, 1};

struct Variant {
  const char* name;
  nlohmann::json options;
  int64_t parameters;  // by hand
};

// LSTM(h) over 4 features: 4h (4 + h) weights + 8h biases (two vectors);
// linear head h + 1; GMNM head of m full-rank (k = h) components: centres
// m h, projection m h h, offset and alpha 2 m h, mixing m, bias 1.
const std::vector<Variant> kVariants = {
    {"lstm3", {{"hidden", 3}}, 4 * 3 * 7 + 24 + 4},
    {"lstm3+gmnm100",
     {{"hidden", 3}, {"head", "gmnm"}, {"components", 100}},
     4 * 3 * 7 + 24 + 100 * (3 + 9 + 6 + 1) + 1},
    {"lstm32", {{"hidden", 32}}, 4 * 32 * 36 + 256 + 33},
};

Network regressor(const nlohmann::json& options, uint64_t seed = 0) {
  torch::manual_seed(seed);
  return Network(build_model(resolve_model("lstm", options), kSignals), kSignals, true, 0.1);
}

TEST(Lstm, ForwardShapesAndParameterCounts) {
  const auto x = torch::randn({5, 10, 4});
  for (const auto& v : kVariants) {
    SCOPED_TRACE(v.name);
    auto net = regressor(v.options);
    EXPECT_EQ(count_parameters(net->body()), v.parameters);
    EXPECT_EQ(net->forward(x).mean.sizes(), (std::vector<int64_t>{5, 1}));
  }
}

TEST(Lstm, EachArchitectureOverfitsOneBatch) {
  torch::manual_seed(1);
  const auto x = torch::randn({32, 10, 4});
  const auto y = torch::sin(x.sum({1, 2}, false)).unsqueeze(1);
  const auto objective = make_objective("mse", "regression");
  for (const auto& v : kVariants) {
    SCOPED_TRACE(v.name);
    auto net = regressor(v.options, 2);
    net->body().initialise(x, y);
    TrainOptions o;
    o.steps = 600;
    o.lr = 1e-2;
    o.progress = false;
    o.loss = "mse";
    train_network(net, *objective, {x, y}, {}, o);
    torch::NoGradGuard guard;
    const double mse = (net->forward(x).mean - y).square().mean().item<double>();
    EXPECT_LT(mse, 0.1 * y.var().item<double>());
  }
}

TEST(Lstm, GmnmHeadGradientsReachTheLstm) {
  auto net = regressor(kVariants[1].options);
  const auto x = torch::randn({8, 10, 4});
  net->body().initialise(x, {});
  net->forward(x).mean.square().sum().backward();
  for (const char* name : {"body.lstm.weight_ih_l0", "body.lstm.weight_hh_l0",
                           "body.head.projection", "body.head.centres"}) {
    const auto grad = net->named_parameters()[name].grad();
    ASSERT_TRUE(grad.defined()) << name;
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << name;
    EXPECT_GT(grad.abs().sum().item<double>(), 0) << name;
  }
}

TEST(Lstm, TablesAndImpossibleHeadsAreRefused) {
  EXPECT_NE(test::error_message([] { build_model(resolve_model("lstm", {}), 2, 1); })
                .find("needs sequence inputs [steps, features] (e.g. the four-signals task); "
                      "these samples have shape [2]"),
            std::string::npos);
  EXPECT_NE(test::error_message([] {
              build_model(resolve_model("lstm", {{"head", "gmnm"}, {"rank", 4}}), kSignals);
            }).find("at most hidden (3)"),
            std::string::npos);
}

TEST(FourSignals, SequencesAndTargetsFollowEquation5) {
  const auto task = find_task("four-signals").configure({{"samples", 500}});
  const auto d = task.generate(3);
  EXPECT_EQ(d.train.x.sizes(), (std::vector<int64_t>{360, 10, 4}));
  EXPECT_EQ(d.validation.size(), 40);
  EXPECT_EQ(d.find("test")->size(), 100);
  // Rebuild the first training sample: find its grid start k, where all
  // 10 x 4 values are x_i = a_i sin t + b_i, then compare y with eq. (5).
  const auto [a, b] = four_signals_coefficients(5);  // the default coefficient_seed
  const double dt = 99.5 / (500 + 10 - 2);
  const auto x = d.train.x[0];
  int64_t start = -1;
  for (int64_t k = 0; k + 10 <= 509 && start < 0; ++k) {
    bool fits = true;
    for (int64_t s = 0; s < 10 && fits; ++s)
      for (int i = 0; i < 4 && fits; ++i)
        fits =
            std::abs(a[i] * std::sin(0.5 + (k + s) * dt) + b[i] - x[s][i].item<double>()) < 1e-12;
    if (fits) start = k;
  }
  ASSERT_GE(start, 0);
  EXPECT_NEAR(d.train.y[0][0].item<double>(), four_signals_target(a, b, 0.5 + (start + 9) * dt),
              1e-12);
  const auto again = find_task("four-signals").configure({{"samples", 500}}).generate(4);
  // The coefficients do not depend on the data seed; the split does.
  const auto sorted = [](const TaskData& t) {
    return std::get<0>(torch::cat({t.train.y, t.validation.y, t.find("test")->y}).sort(0));
  };
  EXPECT_TRUE(torch::equal(sorted(d), sorted(again)));
  EXPECT_FALSE(torch::equal(d.train.y, again.train.y));
  // Sizes are bounded before anything is allocated.
  EXPECT_NE(test::error_message([] {
              find_task("four-signals").configure({{"samples", 1000000}, {"steps", 1000}});
            }).find("more than the limit"),
            std::string::npos);
}

// LSTM(3) + GMNM through `gsnn run`'s pipeline on a 2000-sample four-signals
// task, 400 Adam steps of batch 128: the test MSE falls below 10 % of the
// target's variance (the constant predictor's MSE).
TEST(FourSignals, LstmGmnmLearnsTheTask) {
  test::TempDir dir;
  const auto e = test::run_quietly(
      {{"name", "lstm-smoke"},
       {"tasks", {{{"name", "four-signals"}, {"options", {{"samples", 2000}}}}}},
       {"training", {{"steps", 400}, {"batch_size", 128}, {"lr", 0.01}, {"eval_every", 100}}},
       {"model",
        {{{"family", "lstm"},
          {"label", "lstm3+gmnm"},
          {"options", {{"hidden", 3}, {"head", "gmnm"}, {"components", 100}}}}}}},
      dir.file("out"));
  const auto run = run_directory(e, e.tasks.front().name, "lstm3+gmnm", 0);
  const auto r = nlohmann::json::parse(test::read_all(run + "/result.json"));
  const auto data = find_task("four-signals").configure({{"samples", 2000}}).generate(0);
  const double variance = data.find("test")->y.var().item<double>();
  EXPECT_LT(r["metrics"]["test"]["mse"].get<double>(), 0.1 * variance);
}

// A saved sequence model names its inputs step by step (what `gsnn predict`
// matches CSV columns to), and a model file written before inactive options
// were refused (a linear head with components = 32) still loads.
TEST(FourSignals, SavedModelsNameStepsAndOldOptionsLoad) {
  const auto data = find_task("four-signals").configure({{"samples", 100}}).generate(0);
  FitRequest r;
  r.model = resolve_model("lstm", {});
  r.training.steps = 2;
  r.training.progress = false;
  const auto m = fit_model(data.train, data.validation, r).model;
  ASSERT_EQ(m.inputs.size(), 40u);
  EXPECT_EQ(m.inputs[0], "x1_0");
  EXPECT_EQ(m.inputs[5], "x2_1");
  EXPECT_EQ(m.inputs[39], "x4_9");
  test::TempDir dir;
  save_model(m, dir.file("m"));
  auto description = nlohmann::json::parse(test::read_all(dir.file("m/model.json")));
  description["options"]["components"] = 32;
  std::ofstream(dir.file("m/model.json")) << description.dump();
  const auto loaded = load_model(dir.file("m"));
  EXPECT_EQ(loaded.spec.options["components"], 32);
  EXPECT_TRUE(torch::allclose(loaded.predict(data.train.x).mean, m.predict(data.train.x).mean));
}

}  // namespace
}  // namespace gsnn
