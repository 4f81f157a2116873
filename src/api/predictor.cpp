// Predictor: a TrainedModel behind a LibTorch-free interface. Thread safety:
// the model is never mutated after load, and each call runs under its own
// (thread-local) InferenceMode guard.
#include "gsnn/predictor.hpp"

#include <stdexcept>

#include "io/model_file.hpp"

namespace gsnn {

struct Predictor::State {
  TrainedModel model;
};

Predictor::Predictor(std::shared_ptr<const State> state) : state_(std::move(state)) {}

Predictor Predictor::load(const std::string& directory) {
  // The host process keeps its own allocator and thread settings.
  auto state = std::make_shared<State>();
  try {
    state->model = load_model(directory);
  } catch (const std::runtime_error&) {
    throw;
  } catch (const std::exception& e) {  // LibTorch, JSON: the promise is std::runtime_error
    throw std::runtime_error(directory + ": " + e.what());
  }
  const auto& m = state->model;
  if (!m.network->regression() || m.network->shape().input_shape.size() != 1)
    throw std::runtime_error(directory + ": a " + m.kind +
                             " model; the Predictor serves regression models of table rows");
  return Predictor(std::move(state));
}

std::size_t Predictor::num_inputs() const { return state_->model.inputs.size(); }
std::size_t Predictor::num_outputs() const { return state_->model.outputs.size(); }
const std::vector<std::string>& Predictor::input_names() const { return state_->model.inputs; }
const std::vector<std::string>& Predictor::output_names() const { return state_->model.outputs; }

void Predictor::predict(const double* inputs, std::size_t rows, double* mean, double* std) const {
  predict(inputs, nullptr, rows, mean, std);
}

void Predictor::predict(const double* inputs, const double* input_std, std::size_t rows,
                        double* mean, double* std) const {
  if (rows == 0) return;
  if (!inputs || !mean) throw std::invalid_argument("Predictor::predict: null pointer");
  torch::InferenceMode guard;
  const std::vector<int64_t> shape = {static_cast<int64_t>(rows),
                                      static_cast<int64_t>(num_inputs())};
  const auto x = torch::from_blob(const_cast<double*>(inputs), shape, torch::kFloat64);
  torch::Tensor input_var;
  if (input_std)
    input_var = torch::from_blob(const_cast<double*>(input_std), shape, torch::kFloat64).square();
  const auto out = state_->model.predict(x, input_var);
  const auto m = out.mean.to(torch::kCPU).contiguous();
  const auto s = out.var.to(torch::kCPU).sqrt().contiguous();
  const auto n = rows * num_outputs();
  std::copy(m.data_ptr<double>(), m.data_ptr<double>() + n, mean);
  if (std) std::copy(s.data_ptr<double>(), s.data_ptr<double>() + n, std);
}

}  // namespace gsnn
