// Exact GP regression, fit + predict, for bench/gp_fit.py (which runs
// scikit-learn on the same data and compares). usage:
//   bench_gp_fit DIR N...   reads DIR/train_N.csv (x1, x2, y) and DIR/test.csv,
// for each N: the GP with fixed hyperparameters (l = 0.5, s2 = 1, noise 1e-2)
// and with ML-II (from l = 1, s2 = 1, noise 1e-2; restarts 2 below N = 5000,
// else 0); writes DIR/gsnn_{fixed,ml2}_N.csv (mean, var) and prints JSON with
// the seconds of fit + predict (median of 3 for fixed, one run for ML-II) and the
// log marginal likelihoods. Raw units, as sklearn's normalize_y=False.
#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include "core/runtime.hpp"
#include "data/csv.hpp"
#include "gp/gaussian_process.hpp"

namespace {

std::pair<torch::Tensor, torch::Tensor> load(const std::string& path) {
  const auto d = gsnn::select_columns(gsnn::read_csv(path), path, {"x1", "x2"}, {"y"});
  return {d.x, d.y};
}

struct Timed {
  double seconds, lml;
  gsnn::Prediction prediction;
};

Timed fit_predict(const gsnn::GpOptions& o, const torch::Tensor& x, const torch::Tensor& y,
                  const torch::Tensor& xt) {
  gsnn::GaussianProcessImpl gp(o);
  const auto start = std::chrono::steady_clock::now();
  gp.fit_directly(x, y, 0);
  torch::NoGradGuard guard;
  auto p = gp.predict({xt, {}});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {s, gp.fitted_log_likelihood(), p};
}

void write(const std::string& path, const gsnn::Prediction& p) {
  std::ofstream out(path);
  out.precision(17);
  out << "mean,var\n";
  for (int64_t i = 0; i < p.mean.size(0); ++i)
    out << p.mean[i][0].item<double>() << ',' << p.var[i][0].item<double>() << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_gp_fit DIR N...\n";
    return 2;
  }
  gsnn::init_runtime({0, true});
  const std::string dir = argv[1];
  const auto xt = load(dir + "/test.csv").first;
  nlohmann::json out;
  for (int i = 2; i < argc; ++i) {
    const std::string n = argv[i];
    const auto [x, y] = load(dir + "/train_" + n + ".csv");
    const auto fixed = gsnn::GpOptions(2, 1).length_scale(0.5).noise_variance(1e-2).optimize(false);
    std::vector<Timed> runs;
    for (int r = 0; r < 3; ++r) runs.push_back(fit_predict(fixed, x, y, xt));
    std::sort(runs.begin(), runs.end(), [](auto& a, auto& b) { return a.seconds < b.seconds; });
    write(dir + "/gsnn_fixed_" + n + ".csv", runs[1].prediction);
    const auto ml2 = fit_predict(
        gsnn::GpOptions(2, 1).noise_variance(1e-2).restarts(std::stoi(n) < 5000 ? 2 : 0), x, y, xt);
    write(dir + "/gsnn_ml2_" + n + ".csv", ml2.prediction);
    out[n] = {{"fixed", {{"seconds", runs[1].seconds}, {"lml", runs[1].lml}}},
              {"ml2", {{"seconds", ml2.seconds}, {"lml", ml2.lml}}}};
  }
  std::cout << out.dump() << '\n';
}
