// Seed 002 section 5.1's image classifiers: CNN, + attention, + GMNM head,
// + both. Forward shapes and parameter counts by hand, a one-batch overfit
// per architecture, the GMNM head's gradients reaching the convolutions, the
// head's data-dependent start, refusals, and a fashion-mnist run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "experiment/runner.hpp"
#include "nn/cnn.hpp"
#include "nn/registry.hpp"
#include "test_util.hpp"
#include "train/trainer.hpp"
#include "train_util.hpp"

namespace gsnn {
namespace {

const ModelShape kFashion{{1, 28, 28}, 10};

struct Variant {
  const char* name;
  nlohmann::json options;
  int64_t parameters;  // by hand, defaults: channels 16, hidden 28, 16 rank-1 components
};

// conv1 1*16*9 + 16 = 160, conv2 16*32*9 + 32 = 4640, dense 800*28 + 28 = 22428;
// linear head 28*10 + 10 = 290; attention 3 (32*32 + 32) = 3168; GMNM head
// (centres fixed): projection 16*28 + offset 16 + alpha 16 + mixing 16*10 + bias 10 = 650.
const std::vector<Variant> kVariants = {
    {"cnn", nlohmann::json::object(), 160 + 4640 + 22428 + 290},
    {"cnn+attention", {{"attention", true}}, 160 + 4640 + 22428 + 290 + 3168},
    {"cnn+gmnm", {{"head", "gmnm"}}, 160 + 4640 + 22428 + 650},
    {"cnn+gmnm+attention",
     {{"head", "gmnm"}, {"attention", true}},
     160 + 4640 + 22428 + 650 + 3168},
};

Network classifier(const nlohmann::json& options, uint64_t seed = 0) {
  torch::manual_seed(seed);
  return Network(build_model(resolve_model("cnn", options), kFashion), kFashion, false, 0.1);
}

TEST(Cnn, ForwardShapesAndParameterCounts) {
  const auto x = torch::randn({5, 1, 28, 28});
  for (const auto& v : kVariants) {
    SCOPED_TRACE(v.name);
    auto net = classifier(v.options);
    EXPECT_EQ(count_parameters(*net), v.parameters);
    EXPECT_EQ(net->forward(x).mean.sizes(), (std::vector<int64_t>{5, 10}));
    EXPECT_FALSE(net->forward(x).var.defined());  // logits only
  }
}

TEST(Cnn, EachArchitectureOverfitsOneBatch) {
  torch::manual_seed(1);
  const auto x = torch::rand({32, 1, 28, 28});
  const auto y = torch::randint(0, 10, {32, 1}).to(torch::kFloat32);
  const auto objective = make_objective("cross_entropy", "classification");
  for (const auto& v : kVariants) {
    SCOPED_TRACE(v.name);
    // 32 random labels: a GMNM head of 16 rank-1 ridges memorises 30-31 of
    // them; with 32 components, all.
    auto options = v.options;
    if (options.contains("head")) options["components"] = 32;
    auto net = classifier(options, 2);
    net->body().initialise(x, y);
    TrainOptions o;
    o.steps = 300;
    o.lr = 3e-3;
    o.progress = false;
    o.loss = "cross_entropy";
    train_network(net, *objective, {x, y}, {}, o);
    torch::NoGradGuard guard;
    const auto logits = net->forward(x).mean;
    EXPECT_EQ(logits.argmax(1).eq(y.reshape({-1}).to(torch::kLong)).sum().item<int64_t>(), 32);
  }
}

TEST(Cnn, GmnmHeadGradientsReachTheConvolutions) {
  auto net = classifier({{"head", "gmnm"}});
  const auto x = torch::randn({8, 1, 28, 28});
  net->body().initialise(x, {});
  const auto y = torch::randint(0, 10, {8}).to(torch::kLong);
  torch::nn::functional::cross_entropy(net->forward(x).mean, y).backward();
  for (const char* name : {"body.conv1.weight", "body.conv2.weight", "body.head.projection"}) {
    const auto grad = net->named_parameters()[name].grad();
    ASSERT_TRUE(grad.defined()) << name;
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << name;
    EXPECT_GT(grad.abs().sum().item<double>(), 0) << name;
  }
}

TEST(Cnn, GmnmCentresStartOnTheHiddenFeatures) {
  auto net = classifier({{"head", "gmnm"}, {"components", 4}});
  const auto x = torch::randn({50, 1, 28, 28});
  auto& body = dynamic_cast<CnnImpl&>(net->body());
  net->body().initialise(x, {});
  torch::NoGradGuard guard;
  const auto features = standardise_rows(body.features(x));
  const auto centres = net->named_buffers()["body.head.centres"];
  ASSERT_EQ(centres.sizes(), (std::vector<int64_t>{4, 28}));
  // k-means++ picks (standardised) training features as centres: each centre is one of them.
  EXPECT_LT(features.mean(1).abs().max().item<double>(), 1e-4);
  for (int64_t j = 0; j < 4; ++j)
    EXPECT_LT((features - centres[j]).norm(2, 1).min().item<double>(), 1e-5);
}

TEST(Cnn, TablesTinyImagesAndImpossibleHeadsAreRefused) {
  EXPECT_NE(test::error_message([] { build_model(resolve_model("cnn", {}), 2, 1); })
                .find("needs image inputs [channels, height, width] (e.g. the fashion-mnist "
                      "task); these samples have shape [2]"),
            std::string::npos);
  EXPECT_NE(test::error_message([] {
              build_model(resolve_model("cnn", {}), ModelShape{{1, 8, 8}, 10});
            }).find("at least 10 x 10"),
            std::string::npos);
  EXPECT_NE(test::error_message([] {
              build_model(resolve_model("cnn", {{"head", "gmnm"}, {"rank", 29}}), kFashion);
            }).find("at most hidden (28)"),
            std::string::npos);
  // GMNM options with a linear head would be ignored: refused, naming the switch.
  EXPECT_NE(test::error_message([] {
              resolve_model("cnn", {{"components", 32}});
            }).find("option 'components' acts only with head = \"gmnm\" (it is \"linear\")"),
            std::string::npos);
  EXPECT_NE(test::error_message([] {
              resolve_model("lstm", {{"rank", 2}});
            }).find("option 'rank' acts only with head = \"gmnm\""),
            std::string::npos);
  EXPECT_NO_THROW(resolve_model("cnn", {{"head", "gmnm"}, {"components", 32}}));
  // Given, even at its default value, it would still be ignored.
  EXPECT_NE(test::error_message([] {
              resolve_model("cnn", {{"components", 16}});
            }).find("option 'components' acts only with head"),
            std::string::npos);
}

// The four variants on a small fashion-mnist sample through `gsnn run`'s
// pipeline: each trains, is evaluated and records an accuracy.
TEST(Cnn, FashionMnistSmoke) {
  test::TempDir dir;
  nlohmann::json models = nlohmann::json::array();
  for (const auto& v : kVariants)
    models.push_back({{"family", "cnn"}, {"label", v.name}, {"options", v.options}});
  const auto e = test::run_quietly(
      {{"name", "cnn-smoke"},
       {"tasks",
        {{{"name", "fashion-mnist"},
          {"options",
           {{"train", 256}, {"validation", 64}, {"test", 128}, {"robustness_points", 0}}}}}},
       {"training", {{"steps", 20}, {"batch_size", 64}, {"eval_every", 10}}},
       {"model", models}},
      dir.file("out"));
  for (const auto& v : kVariants) {
    const auto run = run_directory(e, e.tasks.front().name, v.name, 0);
    const auto r = nlohmann::json::parse(test::read_all(run + "/result.json"));
    EXPECT_GT(r["metrics"]["test"]["accuracy"].get<double>(), 0.2) << v.name;  // chance: 0.1
  }
}

}  // namespace
}  // namespace gsnn
