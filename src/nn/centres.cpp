// choose_centres: uniform box, random points, k-means++.
#include "nn/centres.hpp"

#include <torch/torch.h>

#include <stdexcept>

namespace gsnn {

const std::vector<std::string>& centre_init_names() {
  static const std::vector<std::string> names = {"kmeans++", "points", "uniform"};
  return names;
}

const std::string& centre_init_name(CentreInit how) {
  return centre_init_names().at(static_cast<size_t>(how));  // same order as the enum
}

CentreInit parse_centre_init(const std::string& name) {
  if (name == "kmeans++") return CentreInit::KMeansPlusPlus;
  if (name == "points") return CentreInit::Points;
  if (name == "uniform") return CentreInit::Uniform;
  throw std::invalid_argument("unknown centre initialisation '" + name +
                              "' (known: kmeans++, points, uniform)");
}

torch::Tensor choose_centres(const torch::Tensor& x_in, int64_t count, CentreInit how) {
  if (x_in.dim() != 2 || x_in.size(0) < 1 || count < 1)
    throw std::invalid_argument("choose_centres: need points [n, d] with n >= 1 and count >= 1");
  const auto x = x_in.detach();
  const int64_t n = x.size(0);
  if (how == CentreInit::Uniform) {
    const auto lo = std::get<0>(x.min(0)), hi = std::get<0>(x.max(0));
    return lo + (hi - lo) * torch::rand({count, x.size(1)}, x.options());
  }
  if (how == CentreInit::Points) {
    const auto rows = count <= n
                          ? torch::randperm(n, x.options().dtype(torch::kLong)).slice(0, 0, count)
                          : torch::randint(n, {count}, x.options().dtype(torch::kLong));
    return x.index_select(0, rows).clone();
  }
  auto centres = torch::empty({count, x.size(1)}, x.options());
  auto first = torch::randint(n, {1}, x.options().dtype(torch::kLong));
  centres[0] = x[first.item<int64_t>()];
  auto nearest = (x - centres[0]).square().sum(1);  // squared distance to the nearest centre
  for (int64_t j = 1; j < count; ++j) {
    // Once every point is a centre (count > distinct points), draw uniformly.
    const auto weights = nearest.sum().item<double>() > 0 ? nearest : torch::ones_like(nearest);
    const auto pick = torch::multinomial(weights.to(torch::kFloat64), 1).item<int64_t>();
    centres[j] = x[pick];
    nearest = torch::minimum(nearest, (x - centres[j]).square().sum(1));
  }
  return centres;
}

torch::Tensor nearest_centre_distance(const torch::Tensor& centres) {
  const int64_t m = centres.size(0);
  if (m < 2) return torch::ones({m}, centres.options());
  // In blocks of rows: never an m x m matrix (m may be 65536).
  const auto c = centres.detach();
  const int64_t block = 1024;
  std::vector<torch::Tensor> nearest;
  for (int64_t s = 0; s < m; s += block) {
    auto d = torch::cdist(c.slice(0, s, s + block), c);
    d.diagonal(s).fill_(std::numeric_limits<double>::infinity());  // a centre itself
    nearest.push_back(std::get<0>(d.min(1)));
  }
  return torch::cat(nearest);
}

}  // namespace gsnn
