// The trainer: determinism, divergence handling, early stopping, L-BFGS,
// mini-batches, clipping, and the Gaussian NLL learning the noise level.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "nn/registry.hpp"
#include "tasks/task.hpp"
#include "test_util.hpp"
#include "train/fit.hpp"
#include "train_util.hpp"

namespace gsnn {
namespace {

struct Problem {
  torch::Tensor x, y;
};

Problem sine_problem(int64_t n = 64) {
  auto x = torch::linspace(-2, 2, n).unsqueeze(1);
  return {x, torch::sin(2 * x)};
}

Network make(const std::string& model, uint64_t seed) { return test::network(model, seed); }

TrainOptions quiet(int64_t steps) {
  TrainOptions o;
  o.steps = steps;
  o.progress = false;
  o.eval_every = 10;
  return o;
}

std::vector<torch::Tensor> weights(Network& r) {
  std::vector<torch::Tensor> w;
  for (auto& p : r->parameters()) w.push_back(p.detach().clone());
  return w;
}

TEST(Trainer, FixedSeedGivesIdenticalWeights) {
  const auto p = sine_problem();
  auto o = quiet(50);
  o.batch_size = 16;
  auto a = make("gsnn", 7), b = make("gsnn", 7);
  test::train(a, p.x, p.y, {}, {}, o);
  test::train(b, p.x, p.y, {}, {}, o);
  const auto wa = weights(a), wb = weights(b);
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i]));
}

TEST(Trainer, NonFiniteLossStopsAndKeepsLastGoodWeights) {
  const auto p = sine_problem();
  auto o = quiet(200);
  o.lr = 1e12;  // certain to blow up
  o.lr_schedule = "constant";
  auto r = make("mlp-relu", 1);
  const auto result = test::train(r, p.x, p.y, {}, {}, o);
  EXPECT_TRUE(result.diverged);
  EXPECT_NE(result.stop_reason.find("non-finite"), std::string::npos);
  EXPECT_LT(result.steps_run, 200);
  for (auto& w : weights(r)) EXPECT_TRUE(torch::isfinite(w).all().item<bool>());
}

TEST(Trainer, EarlyStoppingRestoresBestValidation) {
  const auto p = sine_problem();
  auto o = quiet(2000);
  o.patience = 3;
  auto r = make("mlp-tanh", 2);
  // Validation targets that no model can follow: validation loss stops improving early.
  const auto result = test::train(r, p.x, p.y, p.x, -p.y, o);
  EXPECT_EQ(result.stop_reason, "early stop");
  EXPECT_LT(result.steps_run, 2000);
  EXPECT_LE(result.best_step, result.steps_run);
}

TEST(Trainer, OptimisersReduceTheLoss) {
  const auto p = sine_problem();
  for (const std::string opt : {"adam", "adamw", "lbfgs"}) {
    auto o = quiet(opt == "lbfgs" ? 60 : 300);
    o.optimizer = opt;
    o.lr = opt == "lbfgs" ? 1.0 : 1e-2;
    if (opt != "lbfgs") o.clip_norm = 10.0;
    auto r = make("gsnn", 3);
    const auto result = test::train(r, p.x, p.y, {}, {}, o);
    EXPECT_LT(result.curve.back().train_loss, 0.2 * result.curve.front().train_loss) << opt;
  }
  auto o = quiet(10);
  o.optimizer = "lbfgs";
  o.batch_size = 8;
  auto r = make("gsnn", 3);
  EXPECT_THROW(test::train(r, p.x, p.y, {}, {}, o), std::invalid_argument);
}

TEST(Trainer, NllLearnsTheNoiseLevel) {
  const auto data = find_task("noisy-sine").generate(1);
  FitRequest req;
  req.model = resolve_model("mlp-tanh", {{"width", 16}});
  req.training = quiet(1500);
  req.training.loss = "nll";
  auto fit = fit_model(data.train, data.validation, req);
  const auto pred = fit.model.predict(data.find("test")->x);
  const double mean_std = pred.var.sqrt().mean().item<double>();
  EXPECT_GT(mean_std, 0.35);  // true noise std: 0.5; overfitting biases it low
  EXPECT_LT(mean_std, 0.65);
}

TEST(Trainer, RejectsBadOptions) {
  EXPECT_THROW(TrainOptions::from_json({{"steps", -5}}), std::invalid_argument);
  EXPECT_THROW(TrainOptions::from_json({{"optimiser", "adam"}}), std::invalid_argument);
  EXPECT_THROW(TrainOptions::from_json({{"loss", "mae"}}), std::invalid_argument);
  EXPECT_THROW(TrainOptions::from_json({{"lr", 0.0}}), std::invalid_argument);
  EXPECT_EQ(TrainOptions::from_json({{"steps", 7}}).steps, 7);
  const auto p = sine_problem(8);
  auto r = make("mlp-relu", 1);
  auto o = quiet(5);
  o.lr_final_ratio = 2.0;
  EXPECT_THROW(test::train(r, p.x, p.y, {}, {}, o), std::invalid_argument);
  o = quiet(5);
  o.patience = 3;  // early stopping without validation data
  EXPECT_THROW(test::train(r, p.x, p.y, {}, {}, o), std::invalid_argument);
}

// A model that counts its forward passes.
class CountingImpl : public ModelImpl {
 public:
  explicit CountingImpl(ModelPtr inner) : inner_(register_module("inner", std::move(inner))) {}
  Moments forward(const Moments& x) override {
    ++calls;
    return inner_->forward(x);
  }
  int calls = 0;

 private:
  ModelPtr inner_;
};

TEST(Trainer, LbfgsEvaluatesEachPointOnce) {
  const auto p = sine_problem();
  torch::manual_seed(3);
  auto counting =
      std::make_shared<CountingImpl>(build_model(resolve_model("mlp-tanh", {{"width", 8}}), 1, 1));
  auto r = test::network(counting);
  auto o = quiet(40);
  o.eval_every = 20;
  o.optimizer = "lbfgs";
  o.lr = 1.0;
  const auto result = test::train(r, p.x, p.y, {}, {}, o);
  EXPECT_EQ(result.steps_run, 40) << result.stop_reason;
  // One evaluation per iteration plus the line search's extra ones; calling
  // step() once per iteration evaluated every point twice (>= 2 per step).
  EXPECT_LT(counting->calls, 2 * 40) << counting->calls;
  EXPECT_LT(result.curve.back().train_loss, 0.2 * result.curve.front().train_loss);

  o.clip_norm = 1.0;
  const auto error = test::error_message([&] { test::train(r, p.x, p.y, {}, {}, o); });
  EXPECT_NE(error.find("clip_norm does not apply to lbfgs"), std::string::npos) << error;
}

TEST(Trainer, OwnGeneratorIsolatesItFromOtherRandomNumbers) {
  const auto p = sine_problem();
  auto o = quiet(60);
  o.batch_size = 8;
  auto a = make("mlp-relu", 5), b = make("mlp-relu", 5);
  test::train(a, p.x, p.y, {}, {}, o);
  std::atomic<bool> stop{false};
  std::thread other([&] {  // another user of LibTorch's global generator
    while (!stop) {
      torch::randn({8});
      torch::manual_seed(123);
    }
  });
  test::train(b, p.x, p.y, {}, {}, o);
  stop = true;
  other.join();
  const auto wa = weights(a), wb = weights(b);
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i]));
}

TEST(Loss, NllHasAVarianceFloor) {
  const auto y = torch::zeros({4, 1});
  // A model that predicts y exactly with zero variance and (almost) zero noise.
  auto net = test::network("mlp-relu", 0);
  {
    torch::NoGradGuard guard;
    for (auto& p : net->body().parameters()) p.zero_();
  }
  net->set_noise_std(1e-12);
  const double nll = make_objective("nll", "regression")->loss(net, {y, y}).total.item<double>();
  EXPECT_NEAR(nll, 0.5 * std::log(2 * M_PI * kNllVarianceFloor), 1e-5);
}

}  // namespace
}  // namespace gsnn
