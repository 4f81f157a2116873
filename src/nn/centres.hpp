// Where localised units (GMNM components, RBF centres) start: uniformly over
// the data's bounding box, at random training points, or by k-means++
// seeding. Draws from LibTorch's global generator (seeded by the caller).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace gsnn {

enum class CentreInit { KMeansPlusPlus, Points, Uniform };

CentreInit parse_centre_init(const std::string& name);  // "kmeans++" | "points" | "uniform"
const std::vector<std::string>& centre_init_names();
const std::string& centre_init_name(CentreInit how);

// `count` centres for the rows of x [n, d] (n >= 1). k-means++ picks each next
// centre among the points with probability proportional to the squared
// distance to the nearest centre so far (Arthur & Vassilvitskii 2007): the
// centres spread over the data, dense where the data is dense. Cost O(n count d).
torch::Tensor choose_centres(const torch::Tensor& x, int64_t count, CentreInit how);

// Distance from each centre [m, d] to its nearest other centre ([m]; a
// lone centre gets 1).
torch::Tensor nearest_centre_distance(const torch::Tensor& centres);

}  // namespace gsnn
