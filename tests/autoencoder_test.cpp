// Seed 002 section 5.2's image autoencoders: AE, + attention, + GMNM branch,
// + both. Forward shapes and parameter counts by hand, a one-batch overfit
// per architecture, the GMNM branch's gradients reaching the encoder, its
// data-dependent start, refusals, and a fashion-reconstruction run through
// the runner and the report (figure of originals and reconstructions).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "experiment/runner.hpp"
#include "nn/autoencoder.hpp"
#include "nn/registry.hpp"
#include "report/report.hpp"
#include "test_util.hpp"
#include "train/trainer.hpp"
#include "train_util.hpp"

namespace gsnn {
namespace {

const ModelShape kImages{{1, 28, 28}, 784};

struct Variant {
  const char* name;
  nlohmann::json options;
  int64_t parameters;  // by hand, defaults: channels 16, latent 32, 16 rank-1 components
};

// encode1 1*16*9 + 16 = 160, encode2 16*32*9 + 32 = 4640, to_latent
// 1568*32 + 32 = 50208, from_latent 32*1568 + 1568 = 51744, decode1
// 32*16*16 + 16 = 8208, decode2 16*16*16 + 16 = 4112, output 16*9 + 1 = 145,
// the Network's noise 1: 119218. Attention 3 (32*32 + 32) = 3168; GMNM branch
// (centres fixed): projection 16*32 + offset 16 + alpha 16 + mixing 16*16 +
// bias 16 = 816.
constexpr int64_t kBase = 160 + 4640 + 50208 + 51744 + 8208 + 4112 + 145 + 1;
const std::vector<Variant> kVariants = {
    {"ae", nlohmann::json::object(), kBase},
    {"ae+attention", {{"attention", true}}, kBase + 3168},
    {"ae+gmnm", {{"gmnm", true}}, kBase + 816},
    {"ae+attention+gmnm", {{"gmnm", true}, {"attention", true}}, kBase + 3168 + 816},
};

Network autoencoder(const nlohmann::json& options, uint64_t seed = 0) {
  torch::manual_seed(seed);
  return Network(build_model(resolve_model("autoencoder", options), kImages), kImages, true, 0.1);
}

// Smooth random images in [0, 1]: blurred noise, so that eight of them are
// reconstructable through a 32-wide bottleneck.
torch::Tensor smooth_images(int64_t n) {
  auto x = torch::rand({n, 1, 7, 7});
  return torch::upsample_bilinear2d(x, {28, 28}, false);
}

TEST(Autoencoder, ForwardShapesAndParameterCounts) {
  const auto x = torch::rand({5, 1, 28, 28});
  for (const auto& v : kVariants) {
    SCOPED_TRACE(v.name);
    auto net = autoencoder(v.options);
    EXPECT_EQ(count_parameters(*net), v.parameters);
    const auto out = net->forward(x);
    EXPECT_EQ(out.mean.sizes(), (std::vector<int64_t>{5, 784}));
    // Deterministic body: the predictive variance is the Network's noise alone.
    EXPECT_TRUE(torch::allclose(out.var, torch::full_like(out.var, 0.01), 1e-4));
  }
}

TEST(Autoencoder, EachArchitectureOverfitsOneBatch) {
  torch::manual_seed(1);
  const auto x = smooth_images(8);
  const auto y = x.flatten(1);
  const double spread = (y - y.mean(0)).square().mean().item<double>();  // MSE of the mean image
  const auto objective = make_objective("mse", "regression");
  for (const auto& v : kVariants) {
    SCOPED_TRACE(v.name);
    auto net = autoencoder(v.options, 4);
    net->body().initialise(x, y);
    TrainOptions o;
    o.steps = 400;
    o.lr = 1e-3;
    o.progress = false;
    train_network(net, *objective, {x, y}, {}, o);
    torch::NoGradGuard guard;
    const double mse = (net->forward(x).mean - y).square().mean().item<double>();
    EXPECT_LT(mse, 0.1 * spread) << "mse " << mse << " against " << spread;
  }
}

TEST(Autoencoder, GmnmBranchGradientsReachTheEncoder) {
  auto net = autoencoder({{"gmnm", true}});
  const auto x = torch::rand({8, 1, 28, 28});
  net->body().initialise(x, {});
  (net->forward(x).mean - x.flatten(1)).square().mean().backward();
  for (const char* name : {"body.encode1.weight", "body.to_latent.weight", "body.gmnm.projection",
                           "body.gmnm.mixing", "body.decode2.weight"}) {
    const auto grad = net->named_parameters()[name].grad();
    ASSERT_TRUE(grad.defined()) << name;
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << name;
    EXPECT_GT(grad.abs().sum().item<double>(), 0) << name;
  }
}

TEST(Autoencoder, GmnmCentresStartOnTheLatentVectors) {
  auto net = autoencoder({{"gmnm", true}, {"components", 4}});
  const auto x = torch::rand({50, 1, 28, 28});
  auto& body = dynamic_cast<AutoencoderImpl&>(net->body());
  net->body().initialise(x, {});
  torch::NoGradGuard guard;
  const auto latent = standardise_rows(body.encode(x));
  const auto centres = net->named_buffers()["body.gmnm.centres"];
  ASSERT_EQ(centres.sizes(), (std::vector<int64_t>{4, 32}));
  for (int64_t j = 0; j < 4; ++j)
    EXPECT_LT((latent - centres[j]).norm(2, 1).min().item<double>(), 1e-5);
}

TEST(Autoencoder, WrongImagesOutputsAndRanksAreRefused) {
  auto refusal = [](const nlohmann::json& options, const ModelShape& shape) {
    return test::error_message([&] { build_model(resolve_model("autoencoder", options), shape); });
  };
  EXPECT_NE(refusal({}, ModelShape{{2}, 2}).find("needs image inputs [channels, height, width]"),
            std::string::npos);
  EXPECT_NE(refusal({}, ModelShape{{1, 30, 30}, 900}).find("multiples of 4, got 30 x 30"),
            std::string::npos);
  EXPECT_NE(refusal({}, ModelShape{{1, 28, 28}, 10})
                .find("needs 784 outputs (the image's pixels), not 10 (e.g. the "
                      "fashion-reconstruction task)"),
            std::string::npos);
  EXPECT_NE(refusal({{"gmnm", true}, {"rank", 33}}, kImages).find("at most latent (32), got 33"),
            std::string::npos);
  // GMNM options without the branch would be ignored: refused, naming the switch.
  EXPECT_NE(test::error_message([] {
              resolve_model("autoencoder", {{"components", 8}});
            }).find("option 'components' acts only with gmnm = true (it is false)"),
            std::string::npos);
}

// The four variants on a small fashion-reconstruction sample through `gsnn
// run`'s pipeline: pixels in their own units (the task's scaling "none"),
// each beats the mean image on the test set, and the report draws the test
// images above every model's reconstructions.
TEST(Autoencoder, FashionReconstructionSmokeAndReportFigure) {
  test::TempDir dir;
  nlohmann::json models = nlohmann::json::array();
  for (const auto& v : kVariants)
    models.push_back({{"family", "autoencoder"}, {"label", v.name}, {"options", v.options}});
  const auto e = test::run_quietly(
      {{"name", "ae-smoke"},
       {"tasks",
        {{{"name", "fashion-reconstruction"},
          {"options", {{"train", 512}, {"validation", 64}, {"test", 128}}}}}},
       {"training", {{"steps", 60}, {"batch_size", 64}, {"eval_every", 30}, {"lr", 0.003}}},
       {"model", models}},
      dir.file("out"));
  const auto data = e.tasks.front().generate(e.data_seed);
  const auto& test_y = data.evaluation.front().data.y;
  const double mean_image_mse =
      (test_y - data.train.y.mean(0)).square().mean().item<double>();  // about 0.09
  for (const auto& v : kVariants) {
    const auto run = run_directory(e, e.tasks.front().name, v.name, 0);
    const auto r = nlohmann::json::parse(test::read_all(run + "/result.json"));
    EXPECT_EQ(r["config"]["training"]["scaling"], "none") << v.name;
    EXPECT_LT(r["metrics"]["test"]["mse"].get<double>(), 0.8 * mean_image_mse) << v.name;
  }
  const std::filesystem::path run = run_directory(e, e.tasks.front().name, "ae", 0);
  EXPECT_TRUE(std::filesystem::exists(run.parent_path().parent_path() / kTestImagesFile));
  write_report(dir.file("out"), dir.file("report"));
  EXPECT_TRUE(std::filesystem::exists(dir.file("report") + "/s0_reconstructions.png"));
  // Losses of a task in its targets' own units are labelled so.
  EXPECT_NE(test::read_all(dir.file("report") + "/s0_curves.gp").find("raw target units"),
            std::string::npos);
  EXPECT_NE(test::read_all(dir.file("report") + "/index.html").find("and their reconstructions"),
            std::string::npos);
}

}  // namespace
}  // namespace gsnn
