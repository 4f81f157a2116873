// Seed 004's arithmetic tasks (its appendix A.1): y = x1 + x2 (or x1 x2) on
// the unit disc D, and y = x1 + x2 on the annulus A = {0.5 <= |x| <= 1}.
// Points on a disc or ring: angle ~ U(0, 2 pi), radius = sqrt(U(r_lo^2, r_hi^2))
// (the paper's square-root rule, uniform in area). Out-of-domain points are
// uniform on [-1.5, 1.5]^2 outside the unit disc (rejection sampling), the
// paper's X_ood of table A.2.1. Counts the paper leaves open (test sets)
// are 1000 points each. There is no validation set: the paper trains on all
// its points and keeps the last weights.
#include <fmt/format.h>

#include <cmath>

#include "tasks/builtin.hpp"

namespace gsnn {
namespace {

constexpr int64_t kEvaluationPoints = 1000;

void ring_point(Random& rng, double r_lo, double r_hi, double* x) {
  const double angle = rng.uniform(0, 2 * M_PI);
  const double r = std::sqrt(rng.uniform(r_lo * r_lo, r_hi * r_hi));
  x[0] = r * std::cos(angle);
  x[1] = r * std::sin(angle);
}

void outside_unit_disc(Random& rng, double* x) {
  do {
    x[0] = rng.uniform(-1.5, 1.5);
    x[1] = rng.uniform(-1.5, 1.5);
  } while (x[0] * x[0] + x[1] * x[1] <= 1);
}

double add(const double* x) { return x[0] + x[1]; }
double multiply(const double* x) { return x[0] * x[1]; }

std::vector<OptionSpec> point_options(int64_t points, const std::string& what) {
  return {{"points", points, what, {}, 1, 1000000}};
}

// A task on the disc (r_lo = 0) or the annulus (r_lo = 0.5).
Task arithmetic_task(const std::string& name, double (*f)(const double*), double r_lo,
                     int64_t default_points, const nlohmann::json& given) {
  const bool annulus = r_lo > 0;
  const auto specs =
      point_options(default_points, annulus ? "points per training batch (a fresh batch every step)"
                                            : "training points");
  const auto options = resolve_options("task " + name, specs, given);
  const int64_t points = options.at("points");
  Task t;
  t.name = name;
  t.summary = fmt::format("seed 004: y = {} on the {}; {}", f == add ? "x1 + x2" : "x1 x2",
                          annulus ? "annulus 0.5 <= |x| <= 1" : "unit disc",
                          annulus ? fmt::format("a fresh batch of {} points every step", points)
                                  : fmt::format("{} training points", points));
  t.loss = "mse";
  t.definition = {{"builtin", name}, {"options", options}};
  // Results from before the batches were seeded by derive_seed (their batches
  // overlapped, shifted by a draw) are stale.
  if (annulus) t.definition["batch_seeds"] = "derive_seed";
  t.options = specs;
  t.configure = [name, f, r_lo, default_points](const nlohmann::json& o) {
    return arithmetic_task(name, f, r_lo, default_points, o);
  };
  t.generate = [f, r_lo, annulus, points](uint64_t seed) {
    Random rng(seed);
    auto sample = [&](int64_t n, auto point) {
      return sample_dataset(n, 2, [&](int64_t, double* x) { point(x); }, f, {"x1", "x2"});
    };
    TaskData d;
    d.train = sample(points, [&](double* x) { ring_point(rng, r_lo, 1, x); });
    d.evaluation.push_back(
        {"test", sample(kEvaluationPoints, [&](double* x) { ring_point(rng, r_lo, 1, x); })});
    if (annulus)
      d.evaluation.push_back({"inside_hull", sample(kEvaluationPoints, [&](double* x) {
                                ring_point(rng, 0, r_lo, x);
                              })});
    d.evaluation.push_back(
        {annulus ? "outside_hull" : "out_of_domain",
         sample(kEvaluationPoints, [&](double* x) { outside_unit_disc(rng, x); })});
    d.domain = {{-1.5, 1.5}, {-1.5, 1.5}};
    return d;
  };
  if (annulus)
    t.fresh_train = [f, r_lo, points](int64_t step, uint64_t seed) {
      Random rng(derive_seed(seed, static_cast<uint64_t>(step)));
      return sample_dataset(points, 2, [&](int64_t, double* x) { ring_point(rng, r_lo, 1, x); }, f,
                            {"x1", "x2"});
    };
  return t;
}

}  // namespace

Task addition_disc_task(const nlohmann::json& o) {
  return arithmetic_task("addition-disc", add, 0, 128, o);
}
Task multiplication_disc_task(const nlohmann::json& o) {
  return arithmetic_task("multiplication-disc", multiply, 0, 128, o);
}
Task addition_annulus_task(const nlohmann::json& o) {
  return arithmetic_task("addition-annulus", add, 0.5, 256, o);
}

}  // namespace gsnn
