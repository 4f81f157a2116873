// Model files: safetensors and model round trips, refusal of damaged files,
// and the thread-safe Predictor.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gsnn/predictor.hpp"
#include "io/files.hpp"
#include "io/model_file.hpp"
#include "io/safetensors.hpp"
#include "tasks/task.hpp"
#include "test_util.hpp"
#include "train/fit.hpp"

namespace gsnn {
namespace {

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string load_error(const std::string& dir) {
  return test::error_message([&] { load_model(dir); });
}

TEST(Safetensors, RoundTrip) {
  test::TempDir dir;
  const auto a = torch::randn({3, 4});
  const auto b = torch::randn({5}, torch::kFloat64);
  const auto c = torch::arange(6, torch::kInt64).reshape({2, 3});
  write_safetensors(dir.file("t.safetensors"), {{"a", a}, {"b", b}, {"c", c}}, {{"k", "v"}});
  const auto f = read_safetensors(dir.file("t.safetensors"));
  EXPECT_TRUE(torch::equal(f.tensors.at("a"), a));
  EXPECT_TRUE(torch::equal(f.tensors.at("b"), b));
  EXPECT_TRUE(torch::equal(f.tensors.at("c"), c));
  EXPECT_EQ(f.metadata.at("k"), "v");
  // header length is 8-byte aligned, as the format recommends
  const auto bytes = test::read_all(dir.file("t.safetensors"));
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]) % 8, 0);
}

class SavedModel : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto data = find_task("smooth2d").generate(3);
    FitRequest r;
    r.model = resolve_model("gsnn", {{"width", 8}, {"tau_schedule", "learned"}});
    r.training.steps = 30;
    r.training.progress = false;
    model_ = fit_model(data.train, data.validation, r).model;
    save_model(model_, dir_.file("m"));
    points_ = data.find("test")->x.slice(0, 0, 64);
  }
  test::TempDir dir_;
  TrainedModel model_;
  torch::Tensor points_;
};

TEST_F(SavedModel, RoundTripGivesIdenticalPredictions) {
  const auto loaded = load_model(dir_.file("m"));
  const auto a = model_.predict(points_), b = loaded.predict(points_);
  EXPECT_TRUE(torch::equal(a.mean, b.mean));
  EXPECT_TRUE(torch::equal(a.var, b.var));
  EXPECT_EQ(loaded.inputs, model_.inputs);
  EXPECT_EQ(loaded.spec.options, model_.spec.options);
}

TEST_F(SavedModel, TruncatedWeightsAreRefused) {
  const auto path = dir_.file("m/weights.safetensors");
  const auto bytes = test::read_all(path);
  write_all(path, bytes.substr(0, bytes.size() - 10));
  EXPECT_NE(load_error(dir_.file("m")).find("not a valid weights file"), std::string::npos);
  write_all(path, bytes.substr(0, 5));
  EXPECT_NE(load_error(dir_.file("m")).find("shorter than"), std::string::npos);
}

TEST_F(SavedModel, CorruptedHeaderIsRefused) {
  const auto path = dir_.file("m/weights.safetensors");
  auto bytes = test::read_all(path);
  bytes[9] = '#';  // inside the JSON header
  write_all(path, bytes);
  EXPECT_NE(load_error(dir_.file("m")).find("not JSON"), std::string::npos);
}

TEST_F(SavedModel, WrongVersionIsRefused) {
  const auto path = dir_.file("m/model.json");
  auto j = nlohmann::json::parse(test::read_all(path));
  j["format_version"] = 99;
  write_all(path, j.dump());
  EXPECT_NE(load_error(dir_.file("m")).find("format version 99 is not supported"),
            std::string::npos);
  write_all(path, "{ not json");
  EXPECT_NE(load_error(dir_.file("m")).find("not valid JSON"), std::string::npos);
}

TEST_F(SavedModel, Version1FilesStillLoad) {
  // Rewrite the saved model the way gsnn 0.1 wrote it: scaling in model.json,
  // the taus of all layers in one [depth, 1] tensor, erf-tanh called tanh.
  auto file = read_safetensors(dir_.file("m/weights.safetensors"));
  nlohmann::json scaler;
  for (const char* name : {"input_mean", "input_scale", "target_mean", "target_scale"}) {
    const auto t = file.tensors.at(name).to(torch::kFloat64);
    scaler[name] = std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    file.tensors.erase(name);
  }
  file.tensors["body.tau_rho"] = torch::stack(
      {file.tensors.at("body.hidden0.tau_rho"), file.tensors.at("body.hidden1.tau_rho")});
  file.tensors.erase("body.hidden0.tau_rho");
  file.tensors.erase("body.hidden1.tau_rho");
  write_safetensors(dir_.file("m/weights.safetensors"),
                    NamedTensors(file.tensors.begin(), file.tensors.end()));
  auto j = nlohmann::json::parse(test::read_all(dir_.file("m/model.json")));
  EXPECT_EQ(j["options"]["activation"], "erf-tanh");
  j["format_version"] = 1;
  j["options"]["activation"] = "tanh";
  j["scaler"] = scaler;
  for (const char* key : {"kind", "outputs", "input_shape"}) j.erase(key);
  j["weights_checksum"] = file_checksum(dir_.file("m/weights.safetensors"));
  write_all(dir_.file("m/model.json"), j.dump());

  const auto loaded = load_model(dir_.file("m"));
  EXPECT_EQ(loaded.spec.options["activation"], "erf-tanh");
  EXPECT_EQ(loaded.kind, "regression");
  const auto a = model_.predict(points_), b = loaded.predict(points_);
  EXPECT_TRUE(torch::allclose(a.mean, b.mean, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(a.var, b.var, 1e-6, 1e-7));
}

TEST_F(SavedModel, ShapeMismatchIsRefused) {
  const auto path = dir_.file("m/model.json");
  auto j = nlohmann::json::parse(test::read_all(path));
  j["options"]["width"] = 9;  // weights were written for width 8
  write_all(path, j.dump());
  EXPECT_NE(load_error(dir_.file("m")).find("has shape"), std::string::npos);
}

TEST_F(SavedModel, WeightsOfAnotherSaveAreRefused) {
  auto other = model_;
  {
    torch::NoGradGuard g;
    for (auto& p : other.network->parameters()) p.add_(0.01);
  }
  save_model(other, dir_.file("m2"));
  std::filesystem::copy_file(dir_.file("m2/weights.safetensors"),
                             dir_.file("m/weights.safetensors"),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_NE(load_error(dir_.file("m")).find("checksum mismatch"), std::string::npos);
}

TEST_F(SavedModel, PredictorIsThreadSafe) {
  const auto p = Predictor::load(dir_.file("m"));
  ASSERT_EQ(p.num_inputs(), 2u);
  const auto x = points_.contiguous();
  const size_t n = x.size(0);
  std::vector<double> ref_mean(n), ref_std(n);
  p.predict(x.data_ptr<double>(), n, ref_mean.data(), ref_std.data());
  const auto expected = model_.predict(x);
  EXPECT_NEAR(ref_mean[5], expected.mean[5][0].item<double>(), 1e-12);
  EXPECT_NEAR(ref_std[5], expected.var[5][0].sqrt().item<double>(), 1e-12);

  EXPECT_EQ(test::concurrent_mismatches(p, x.data_ptr<double>(), n, 8, 20), 0);
  EXPECT_THROW(Predictor::load(dir_.file("nowhere")), std::runtime_error);
}

// Large inputs are predicted in chunks (bounded memory) with the same result
// as one forward pass over all rows, input noise included.
TEST_F(SavedModel, ChunkedPredictionEqualsOnePass) {
  const auto x = torch::rand({10000, 2}, torch::kFloat64) * 2 - 1;
  const auto input_var = torch::full({1, 2}, 0.01, torch::kFloat64);
  const auto chunked = model_.predict(x, input_var);
  torch::InferenceMode guard;
  const auto whole = model_.network->predict(x, input_var.expand_as(x));
  ASSERT_EQ(chunked.mean.size(0), 10000);
  // float32 matrix products round differently for different row counts
  EXPECT_TRUE(torch::allclose(chunked.mean, whole.mean, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(chunked.var, whole.var, 1e-6, 1e-7));
  EXPECT_EQ(model_.predict(x.slice(0, 0, 0)).mean.size(0), 0);
}

TEST_F(SavedModel, InputNoiseWidensThePrediction) {
  const auto p = Predictor::load(dir_.file("m"));
  const auto x = points_.contiguous();
  const size_t n = x.size(0);
  std::vector<double> mean0(n), std0(n), mean1(n), std1(n), input_std(2 * n, 0.2);
  p.predict(x.data_ptr<double>(), n, mean0.data(), std0.data());
  p.predict(x.data_ptr<double>(), input_std.data(), n, mean1.data(), std1.data());
  for (size_t i = 0; i < n; ++i) EXPECT_GT(std1[i], std0[i]) << i;
  // zero input noise is the same as none
  std::vector<double> zeros(2 * n, 0.0), mean2(n), std2(n);
  p.predict(x.data_ptr<double>(), zeros.data(), n, mean2.data(), std2.data());
  EXPECT_EQ(mean2, mean0);
  EXPECT_EQ(std2, std0);
}

TEST(InputNoise, RejectedByModelsWithoutAGaussianPath) {
  const auto data = find_task("smooth2d").generate(3);
  FitRequest r;
  r.model = resolve_model("mlp-relu", {{"width", 4}});
  r.training.steps = 5;
  r.training.progress = false;
  const auto m = fit_model(data.train, data.validation, r).model;
  EXPECT_THROW(m.predict(data.train.x, torch::ones({1, 2}, torch::kFloat64)),
               std::invalid_argument);
}

}  // namespace
}  // namespace gsnn
