// fashion-mnist: Debian's dataset-fashion-mnist (Zalando's 28 x 28 grey
// images of 10 clothing classes), read from its gzip-compressed IDX files.
// Images are [n, 1, 28, 28] in [0, 1] (bytes / 255); the 60 000 training
// images are shuffled with Random(data_seed) and cut into `train` and
// `validation`; the test set is the first `test` of the 10 000 test images
// in a Random(data_seed + 1) order. MNIST itself is not packaged in Debian.
// fashion-reconstruction: the same images with their own pixels as targets.
#include <fmt/format.h>

#include <filesystem>

#include "data/idx.hpp"
#include "tasks/builtin.hpp"

namespace gsnn {
namespace {

const char* const kDirectory = "/usr/share/datasets/fashion-mnist";
constexpr int64_t kTrainImages = 60000, kTestImages = 10000;

// The split of both tasks: how many training, validation and test images.
std::vector<OptionSpec> split_options() {
  return {{"train", int64_t{55000}, "training images (of the 60 000)", {}, 1, kTrainImages},
          {"validation",
           int64_t{5000},
           "validation images (of the same 60 000)",
           {},
           0,
           kTrainImages - 1},
          {"test", kTestImages, "test images (of the 10 000)", {}, 1, kTestImages}};
}

std::vector<OptionSpec> classification_options() {
  auto options = split_options();
  options.push_back({"robustness_points",
                     int64_t{1000},
                     "test images of the noise and L2-attack curves, 0 = none",
                     {},
                     0,
                     kTestImages});
  return options;
}

// The uint8 images [n, 28, 28] and labels [n] of one part ("train" or
// "t10k"), checked against each other.
std::pair<torch::Tensor, torch::Tensor> read_part(const std::string& part, int64_t count) {
  const auto images_path = fmt::format("{}/{}-images-idx3-ubyte.gz", kDirectory, part);
  const auto labels_path = fmt::format("{}/{}-labels-idx1-ubyte.gz", kDirectory, part);
  for (const auto& p : {images_path, labels_path})
    if (!std::filesystem::exists(p))
      throw std::runtime_error(
          fmt::format("fashion-mnist: {} not found: install Debian's dataset-fashion-mnist "
                      "(apt-get install dataset-fashion-mnist, or scripts/setup.sh)",
                      p));
  auto images = read_idx(images_path), labels = read_idx(labels_path);
  if (images.dim() != 3 || images.size(1) != 28 || images.size(2) != 28 || labels.dim() != 1 ||
      labels.size(0) != images.size(0) || (labels >= 10).any().item<bool>())
    throw std::runtime_error(
        fmt::format("fashion-mnist: {} and {} are not 28 x 28 images with one label 0-9 each",
                    images_path, labels_path));
  return {images, labels};
}

// The images `index` of a part as a data set: [n, 1, 28, 28] in [0, 1], with
// their class as the target, or (reconstruct) their 784 pixels "r<row>c<column>".
Dataset select(const std::pair<torch::Tensor, torch::Tensor>& part, const torch::Tensor& index,
               bool reconstruct) {
  Dataset d;
  d.x = part.first.index_select(0, index).unsqueeze(1).to(torch::kFloat64).div_(255);
  if (reconstruct) {
    d.y = d.x.flatten(1);  // a view: neither is changed in place
    for (int r = 0; r < 28; ++r)
      for (int c = 0; c < 28; ++c) d.target_names.push_back(fmt::format("r{}c{}", r, c));
    return d;
  }
  d.y = part.second.index_select(0, index).to(torch::kFloat64).unsqueeze(1);
  d.target_names = {"class"};
  d.classes = {"top",    "trouser", "pullover", "dress", "coat",
               "sandal", "shirt",   "sneaker",  "bag",   "boot"};
  return d;
}

// The split both tasks share: train and validation from a Random(seed) order
// of the 60 000 training images, test from a Random(seed + 1) order of the
// 10 000 test images.
std::function<TaskData(uint64_t)> fashion_data(const std::string& task,
                                               const nlohmann::json& options, bool reconstruct) {
  const int64_t train = options.at("train"), validation = options.at("validation"),
                test = options.at("test");
  if (train + validation > kTrainImages)
    throw OptionError("validation",
                      fmt::format("task {}: train + validation must be at most {}, got {}", task,
                                  kTrainImages, train + validation));
  return [=](uint64_t seed) {
    const auto all = read_part("train", kTrainImages);
    const auto order = shuffled_indices(kTrainImages, seed);
    TaskData d;
    d.train = select(all, order.slice(0, 0, train), reconstruct);
    d.validation = select(all, order.slice(0, train, train + validation), reconstruct);
    const auto test_order = shuffled_indices(kTestImages, seed + 1).slice(0, 0, test);
    d.evaluation = {{"test", select(read_part("t10k", kTestImages), test_order, reconstruct)}};
    return d;
  };
}

}  // namespace

Task fashion_mnist_task(const nlohmann::json& given) {
  const auto options = resolve_options("task fashion-mnist", classification_options(), given);
  Task t;
  t.name = "fashion-mnist";
  t.summary = "Fashion-MNIST (Debian's dataset-fashion-mnist): 28x28 images, 10 classes";
  t.kind = "classification";
  t.definition = {{"builtin", "fashion-mnist"}, {"options", options}};
  t.options = classification_options();
  t.configure = fashion_mnist_task;
  t.generate = fashion_data(t.name, options, false);
  if (const int64_t points = options.at("robustness_points"); points > 0)
    t.robustness =
        RobustnessOptions{{0, 0.1, 0.2, 0.4, 0.8, 1.6}, {0, 0.25, 0.5, 1, 1.5, 2, 3}, 10, points};
  return t;
}

Task fashion_reconstruction_task(const nlohmann::json& given) {
  const auto options = resolve_options("task fashion-reconstruction", split_options(), given);
  Task t;
  t.name = "fashion-reconstruction";
  t.summary =
      "Fashion-MNIST images as their own targets (784 pixels in [0, 1]): autoencoders, pixel MSE";
  t.definition = {{"builtin", "fashion-reconstruction"}, {"options", options}};
  t.options = split_options();
  t.configure = fashion_reconstruction_task;
  t.generate = fashion_data(t.name, options, true);
  // Pixels in their own units: the loss is the pixel MSE the paper reports,
  // and a border pixel that is almost always 0 is not blown up to unit scale.
  t.scaling = "none";
  return t;
}

}  // namespace gsnn
