// The built-in model families: their options (defaults read from the option
// structs, declared once) and factories. nn/registry.cpp registers them.
#include "nn/families.hpp"

#include <cmath>

#include "gp/gaussian_process.hpp"
#include "nn/autoencoder.hpp"
#include "nn/cnn.hpp"
#include "nn/gmnm.hpp"
#include "nn/gsnn_model.hpp"
#include "nn/hybrid.hpp"
#include "nn/kan.hpp"
#include "nn/layer_model.hpp"
#include "nn/lengthscale.hpp"
#include "nn/lstm.hpp"
#include "nn/mlp.hpp"
#include "nn/rbf.hpp"

namespace gsnn {
namespace {

std::string tau_schedule_name(TauSchedule s) {
  return s == TauSchedule::Learned     ? "learned"
         : s == TauSchedule::Geometric ? "geometric"
                                       : "constant";
}

}  // namespace

ModelFamily gsnn_family() {
  const GsnnOptions d;  // the defaults, declared once
  ModelFamily f;
  f.name = "gsnn";
  f.summary =
      "Gaussian smoothing network: (mean, var) units, tau^2 injection, smoothed activations";
  f.propagates_variance = true;
  f.options = {
      {"depth", d.depth, "hidden layers", {}, 1, kMaxDepth},
      {"width", d.width, "units per hidden layer", {}, 1, kMaxWidth},
      {"activation", activation_name(d.activation),
       "smoothed activation h (erf-tanh = erf(sqrt(pi) z/2), tanh-shaped)", activation_names()},
      {"tau", d.tau, "smoothing std tau of the first hidden layer", {}, 0, 1e6},
      {"tau_schedule",
       tau_schedule_name(d.tau_schedule),
       "tau across depth",
       {"constant", "geometric", "learned"}},
      {"tau_ratio",
       d.tau_ratio,
       "geometric schedule: tau_l = tau * tau_ratio^l",
       {},
       1e-6,
       1e6,
       "tau_schedule",
       "geometric"},
      {"tau_per_unit", d.tau_per_unit, "one tau per unit instead of one per layer"},
      {"residual", d.residual, "residual connections between hidden layers"},
      {"mean_only", d.mean_only,
       "ablation: apply h to the mean only, carry the variance unchanged"},
  };
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    GsnnOptions g;
    g.inputs = shape.inputs();
    g.outputs = shape.outputs;
    g.depth = o.at("depth");
    g.width = o.at("width");
    g.activation = parse_activation(o.at("activation"));
    g.tau = o.at("tau");
    g.tau_schedule = parse_tau_schedule(o.at("tau_schedule"));
    g.tau_ratio = o.at("tau_ratio");
    g.tau_per_unit = o.at("tau_per_unit");
    g.residual = o.at("residual");
    g.mean_only = o.at("mean_only");
    return std::make_shared<GsnnImpl>(g);
  };
  return f;
}

ModelFamily mlp_family() {
  const MlpOptions d;
  ModelFamily f;
  f.name = "mlp";
  f.summary = "multilayer perceptron baseline (deterministic: zero model variance)";
  f.options = {
      {"depth", d.depth, "hidden layers", {}, 1, kMaxDepth},
      {"width", d.width, "units per hidden layer", {}, 1, kMaxWidth},
      {"activation", d.activation, "activation", {"relu", "tanh", "gelu", "silu"}},
  };
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    MlpOptions m;
    m.inputs = shape.inputs();
    m.outputs = shape.outputs;
    m.depth = o.at("depth");
    m.width = o.at("width");
    m.activation = o.at("activation");
    return std::make_shared<MlpImpl>(m);
  };
  return f;
}

ModelFamily lengthscale_family() {
  const LengthscaleNetOptions d;
  ModelFamily f;
  f.name = "lengthscale-tanh";
  f.summary =
      "two-layer tanh network, weights rescaled to std sigma/sqrt(N_in) at every pass "
      "(seed 004): inv_sigma acts like a GP length scale";
  f.options = {
      {"width", d.width, "hidden tanh units (at least 2)", {}, 2, kMaxWidth},
      {"inv_sigma", d.inv_sigma, "length scale 1/sigma: larger = smoother", {}, 1e-6, 1e6},
  };
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    LengthscaleNetOptions n;
    n.inputs = shape.inputs();
    n.outputs = shape.outputs;
    n.width = o.at("width");
    n.inv_sigma = o.at("inv_sigma");
    check_parameter_budget("lengthscale-tanh", n.inputs, n.width, 1, n.outputs);
    return std::make_shared<LengthscaleNetImpl>(n);
  };
  return f;
}

ModelFamily hybrid_family() {
  const HybridOptions d;
  ModelFamily f;
  f.name = "hybrid";
  f.summary =
      "hybrid Gaussian-ReLU network (seed 001): Gaussian and ReLU paths mixed, gated, "
      "stabilised, or as two experts with a learned gate";
  f.propagates_variance = true;
  constexpr double inf = std::numeric_limits<double>::infinity();
  // The values of `paths` with which each path's options act.
  const auto gaussian_on = nlohmann::json::array({"both", "gaussian"});
  const auto relu_on = nlohmann::json::array({"both", "relu"});
  f.options = {
      {"depth", d.depth, "hidden layers (of each expert, for experts)", {}, 1, kMaxDepth},
      {"width", d.width, "Gaussian-path units per hidden layer", {}, 1, kMaxWidth},
      {"relu_width",
       d.relu_width,
       "ReLU-path units, 0 = width (gate, stabilise: = width)",
       {},
       0,
       kMaxWidth,
       "paths",
       relu_on},
      {"combine", combine_name(d.combine),
       "mix: A_G h_G + A_R h_R; gate: h_R * h_G; stabilise: h_R + S(h_R); experts: "
       "pi(x) Gaussian expert + (1 - pi(x)) ReLU expert",
       combine_names()},
      {"paths",
       paths_name(d.paths),
       "both, or switch one path off (ablation: the hybrid becomes the other path)",
       {"both", "gaussian", "relu"}},
      {"activation", activation_name(d.activation), "smoothed activation of the Gaussian path",
       activation_names(), -inf, inf, "paths", gaussian_on},
      {"tau", d.tau, "smoothing std tau of the Gaussian path", {}, 0, 1e6, "paths", gaussian_on},
  };
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    HybridOptions h;
    h.inputs = shape.inputs();
    h.outputs = shape.outputs;
    h.depth = o.at("depth");
    h.width = o.at("width");
    h.relu_width = o.at("relu_width");
    h.combine = parse_combine(o.at("combine"));
    h.paths = parse_paths(o.at("paths"));
    h.activation = parse_activation(o.at("activation"));
    h.tau = o.at("tau");
    return std::make_shared<HybridImpl>(h);
  };
  return f;
}

namespace {

// The components and rank of a GMNM inside a larger model, its "head" (on
// with head = "gmnm") or "branch" (on with gmnm = true); rank 0 = full rank
// where `full_rank` allows it.
void append_gmnm_part(std::vector<OptionSpec>& options, const std::string& part, int64_t components,
                      int64_t rank, bool full_rank) {
  const bool head = part == "head";
  const std::string when = head ? "head" : "gmnm";
  const nlohmann::json value = head ? nlohmann::json("gmnm") : nlohmann::json(true);
  options.push_back(
      {"components", components, "GMNM " + part + ": components", {}, 1, kMaxWidth, when, value});
  options.push_back({"rank",
                     rank,
                     "GMNM " + part + ": projections per component (1: the paper's ridge" +
                         (full_rank ? "; 0 = all hidden units)" : ")"),
                     {},
                     full_rank ? 0.0 : 1.0,
                     kMaxWidth,
                     when,
                     value});
}

// The convolution width of the image models (cnn, autoencoder).
OptionSpec conv_channels_option(int64_t channels) {
  return {"channels", channels, "channels of the first convolution (the second has twice)",
          {},         1,        1024};
}

}  // namespace

ModelFamily cnn_family() {
  const CnnOptions d;
  ModelFamily f;
  f.name = "cnn";
  f.summary =
      "image classifier (seed 002 fig. 4): two conv + pool stages, optional attention, dense "
      "layer, linear or GMNM head";
  f.size_option = "hidden";
  f.options = {
      conv_channels_option(d.channels),
      {"hidden", d.hidden, "units of the dense layer before the head", {}, 1, kMaxWidth},
      {"attention", d.attention, "self-attention block over the feature map's positions"},
      {"head", d.head, "classification head", {"linear", "gmnm"}},
  };
  append_gmnm_part(f.options, "head", d.components, d.rank, false);
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    CnnOptions c;
    c.input_shape = shape.input_shape;
    c.classes = shape.outputs;
    c.channels = o.at("channels");
    c.hidden = o.at("hidden");
    c.attention = o.at("attention");
    c.head = o.at("head");
    c.components = o.at("components");
    c.rank = o.at("rank");
    return std::make_shared<CnnImpl>(c);
  };
  return f;
}

ModelFamily lstm_family() {
  const LstmOptions d;
  ModelFamily f;
  f.name = "lstm";
  f.summary =
      "sequence regressor (seed 002 sec. 5.3): LSTM over the steps, linear or GMNM head on the "
      "last hidden state";
  f.size_option = "hidden";
  f.options = {
      {"hidden", d.hidden, "LSTM units", {}, 1, 4096},
      {"head", d.head, "head on the last hidden state", {"linear", "gmnm"}},
  };
  append_gmnm_part(f.options, "head", d.components, d.rank, true);
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    LstmOptions l;
    l.input_shape = shape.input_shape;
    l.outputs = shape.outputs;
    l.hidden = o.at("hidden");
    l.head = o.at("head");
    l.components = o.at("components");
    l.rank = o.at("rank");
    return std::make_shared<LstmImpl>(l);
  };
  return f;
}

ModelFamily autoencoder_family() {
  const AutoencoderOptions d;
  ModelFamily f;
  f.name = "autoencoder";
  f.summary =
      "image autoencoder (seed 002 fig. 4, bottom): strided conv encoder to a latent vector, "
      "transposed-conv decoder, optional attention and GMNM channel multipliers";
  f.size_option = "latent";
  f.options = {
      conv_channels_option(d.channels),
      {"latent", d.latent, "size of the bottleneck (latent) vector", {}, 1, kMaxWidth},
      {"attention", d.attention, "self-attention block over the encoder's feature map"},
      {"gmnm", d.gmnm, "GMNM branch: latent vector -> one multiplier per decoder channel"},
  };
  append_gmnm_part(f.options, "branch", d.components, d.rank, false);
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    AutoencoderOptions a;
    a.input_shape = shape.input_shape;
    a.outputs = shape.outputs;
    a.channels = o.at("channels");
    a.latent = o.at("latent");
    a.attention = o.at("attention");
    a.gmnm = o.at("gmnm");
    a.components = o.at("components");
    a.rank = o.at("rank");
    return std::make_shared<AutoencoderImpl>(a);
  };
  return f;
}

ModelFamily gmnm_family() {
  const GmnmOptions d(1, 1);
  ModelFamily f;
  f.name = "gmnm";
  f.summary =
      "Gaussian mixture-inspired module: sum_j pi_j exp(-|alpha_j (A_j (x - mu_j) + b_j)|^2 / 2)";
  f.size_option = "components";
  f.options = {
      {"components", d.components(), "Gaussian components m", {}, 1, kMaxWidth},
      {"rank",
       d.rank(),
       "projections per component (rows of A_j); 0 = the input dimension, "
       "1 = the paper's single-projection ridge",
       {},
       0,
       kMaxWidth},
      {"centres", centre_init_name(d.centre_init()),
       "centre initialisation on the training inputs: kmeans++ (spread over the data), points "
       "(random training points) or uniform (over the data's box)",
       centre_init_names()},
      {"learn_centres", d.learn_centres(), "train the centres (false: fixed after initialisation)"},
      {"init_scale",
       d.init_scale(),
       "initial A_j = init_scale x (about one component spacing)^-1",
       {},
       1e-6,
       1e6},
  };
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    const int64_t d = shape.inputs(), m = o.at("components");
    const int64_t k = o.at("rank").get<int64_t>() > 0 ? o.at("rank").get<int64_t>() : d;
    // More rows than inputs add nothing (the form stays of rank d) but memory.
    if (k > d)
      throw OptionError("rank", "gmnm: rank must be at most the input dimension (" +
                                    std::to_string(d) + "), or 0 for exactly that");
    check_parameter_count("gmnm", gmnm_size(d, shape.outputs, m, k));
    return std::make_shared<LayerModelImpl<GmnmImpl>>(
        std::make_shared<GmnmImpl>(GmnmOptions(d, shape.outputs)
                                       .components(m)
                                       .rank(o.at("rank"))
                                       .centre_init(parse_centre_init(o.at("centres")))
                                       .learn_centres(o.at("learn_centres"))
                                       .init_scale(o.at("init_scale"))));
  };
  return f;
}

ModelFamily kan_family() {
  const KanOptions d({1, 1});
  ModelFamily f;
  f.name = "kan";
  f.summary = "Kolmogorov-Arnold network: SiLU plus B-spline on every edge (efficient-kan layout)";
  f.options = {
      {"depth", int64_t{2}, "hidden layers", {}, 1, kMaxDepth},
      {"width", int64_t{10}, "units per hidden layer", {}, 1, kMaxWidth},
      {"grid", d.grid_size(), "spline grid intervals G per edge", {}, 1, 1024},
      // High orders on data-fitted knots overflow the float32 recursion.
      {"order", d.spline_order(), "spline order k (3: cubic)", {}, 0, 5},
      {"grid_from_data", d.grid_from_data(),
       "fit each layer's knots to its inputs (quantiles mixed with a uniform grid) before "
       "training"},
      {"grid_update_every",
       d.grid_update_every(),
       "while training, move the knots to the current batch's inputs every this many steps "
       "(pykan's update_grid_from_samples; not during L-BFGS); 0 = never",
       {},
       0,
       1e9},
      {"grid_update_until", d.grid_update_until(), "the last step with a grid update", {}, 1, 1e9},
  };
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    const int64_t depth = o.at("depth"), width = o.at("width"), g = o.at("grid"), k = o.at("order");
    const double edges = double(shape.inputs()) * width + (depth - 1.0) * width * width +
                         double(width) * shape.outputs;
    check_parameter_count("kan", edges * (g + k + 2));
    std::vector<int64_t> widths = {shape.inputs()};
    widths.insert(widths.end(), depth, width);
    widths.push_back(shape.outputs);
    return std::make_shared<LayerModelImpl<KanImpl>>(
        std::make_shared<KanImpl>(KanOptions(widths)
                                      .grid_size(g)
                                      .spline_order(k)
                                      .grid_from_data(o.at("grid_from_data"))
                                      .grid_update_every(o.at("grid_update_every"))
                                      .grid_update_until(o.at("grid_update_until"))));
  };
  return f;
}

ModelFamily rbf_family() {
  const RbfOptions d(1, 1);
  ModelFamily f;
  f.name = "rbf";
  f.summary = "radial basis function network: isotropic Gaussian units, learned centres and widths";
  f.size_option = "units";
  f.options = {
      {"units", d.units(), "Gaussian units", {}, 1, kMaxWidth},
      {"centres", centre_init_name(d.centre_init()), "centre initialisation (as gmnm's)",
       centre_init_names()},
  };
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    const int64_t m = o.at("units");
    check_parameter_count("rbf", double(m) * (shape.inputs() + 1.0 + shape.outputs));
    return std::make_shared<LayerModelImpl<RbfImpl>>(
        std::make_shared<RbfImpl>(RbfOptions(shape.inputs(), shape.outputs)
                                      .units(m)
                                      .centre_init(parse_centre_init(o.at("centres")))));
  };
  return f;
}

ModelFamily gp_family() {
  const GpOptions d(1, 1);
  ModelFamily f;
  f.name = "gp";
  f.summary =
      "exact Gaussian-process regression, RBF kernel (ARD), fitted by maximising the marginal "
      "likelihood (or fixed hyperparameters)";
  f.size_option = "";
  f.needs_float64 = true;
  f.options = {
      {"length_scale",
       d.length_scale(),
       "RBF length scale: start of the maximisation, or fixed",
       {},
       kGpLengthScaleBounds.lo,
       kGpLengthScaleBounds.hi},
      {"signal_variance",
       d.signal_variance(),
       "kernel variance s2: start, or fixed",
       {},
       kGpSignalBounds.lo,
       kGpSignalBounds.hi},
      {"noise_variance",
       d.noise_variance(),
       "white-noise variance: start, or fixed",
       {},
       kGpNoiseBounds.lo,
       kGpNoiseBounds.hi},
      {"ard", d.ard(), "one length scale per input (automatic relevance determination)"},
      {"optimize", d.optimize(),
       "maximise the log marginal likelihood (ML-II); false keeps the values above"},
      {"restarts",
       d.restarts(),
       "extra log-uniform random starts of the maximisation",
       {},
       0,
       100,
       "optimize",
       true},
      {"iterations",
       d.iterations(),
       "L-BFGS iterations per start",
       {},
       1,
       100000,
       "optimize",
       true},
  };
  f.build = [](const nlohmann::json& o, const ModelShape& shape) -> ModelPtr {
    return std::make_shared<GaussianProcessImpl>(GpOptions(shape.inputs(), shape.outputs)
                                                     .length_scale(o.at("length_scale"))
                                                     .signal_variance(o.at("signal_variance"))
                                                     .noise_variance(o.at("noise_variance"))
                                                     .ard(o.at("ard"))
                                                     .optimize(o.at("optimize"))
                                                     .restarts(o.at("restarts"))
                                                     .iterations(o.at("iterations")));
  };
  return f;
}

}  // namespace gsnn
