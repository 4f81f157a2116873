// Inference through the public Predictor, as a host program uses it, for
// bench/predict.py (which runs the same models in Python PyTorch and writes
// the table). usage:
//   bench_predict make DIR FAMILY      fit a 2 -> 64 -> 64 -> 1 model of FAMILY
//                                      (gsnn, mlp-tanh) for 20 steps, save it to DIR
//   bench_predict time DIR BATCH THREADS SECONDS
//                                      median time of Predictor::predict (mean and
//                                      std) on BATCH points, repeated for SECONDS
// `time` prints JSON: points per second, median microseconds per call, and the
// process's peak resident memory in MiB.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/runtime.hpp"
#include "gsnn/predictor.hpp"
#include "io/model_file.hpp"
#include "tasks/task.hpp"
#include "train/fit.hpp"

namespace {

int make(const std::string& dir, const std::string& family) {
  gsnn::init_runtime({1, true});
  const auto data = gsnn::find_task("smooth2d").generate(0);
  gsnn::FitRequest r;
  r.model = gsnn::resolve_model(family, {{"width", 64}, {"depth", 2}});
  r.training.steps = 20;
  r.training.progress = false;
  gsnn::save_model(gsnn::fit_model(data.train, data.validation, r).model, dir);
  return 0;
}

int time(const std::string& dir, int64_t batch, int threads, double seconds) {
  gsnn::init_runtime({threads, false});  // a host's threads; its own allocator
  const auto predictor = gsnn::Predictor::load(dir);
  std::mt19937_64 rng(0);
  std::uniform_real_distribution<double> uniform(-1, 1);
  std::vector<double> x(2 * batch), mean(batch), std(batch);
  for (auto& v : x) v = uniform(rng);
  std::vector<double> times;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0;
       i < 3 ||
       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds;
       ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    predictor.predict(x.data(), batch, mean.data(), std.data());
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  const double median = times[times.size() / 2];
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::cout << "{\"points_per_s\": " << batch / median << ", \"latency_us\": " << median * 1e6
            << ", \"max_rss_mb\": " << usage.ru_maxrss / 1024.0 << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 3 && a[0] == "make") return make(a[1], a[2]);
  if (a.size() == 5 && a[0] == "time")
    return time(a[1], std::stoll(a[2]), std::stoi(a[3]), std::stod(a[4]));
  std::cerr << "usage: bench_predict make DIR FAMILY | time DIR BATCH THREADS SECONDS\n";
  return 2;
}
