// Calls a trained gsnn model from C++ through the inference API, which needs
// no LibTorch headers. Train one first, for example:
//   gsnn fit --data train.csv --inputs x1,x2 --target y --out model
// then: predict_example model 0.5 -0.25
#include <gsnn/predictor.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [input values of one point...]\n", argv[0]);
    return 2;
  }
  try {
    const auto model = gsnn::Predictor::load(argv[1]);
    std::vector<double> x(model.num_inputs(), 0.0);
    for (int i = 2; i < argc && i - 2 < static_cast<int>(x.size()); ++i)
      x[i - 2] = std::atof(argv[i]);
    std::vector<double> mean(model.num_outputs()), std(model.num_outputs());
    model.predict(x.data(), 1, mean.data(), std.data());
    for (std::size_t k = 0; k < mean.size(); ++k)
      std::printf("%s = %.6g +- %.3g (1 std)\n", model.output_names()[k].c_str(), mean[k], std[k]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
