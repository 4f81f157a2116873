// GMNM as a layer inside an ordinary LibTorch model: a linear feature map,
// then a Gaussian mixture-inspired head. Trains on y = sin(3 x1) x2 and
// prints the training MSE every 100 steps.
//   gmnm_layer_example
#include <torch/torch.h>
#include <nn/gmnm.hpp>

#include <cstdio>

struct HeadModelImpl : torch::nn::Module {
  torch::nn::Linear features{nullptr};
  gsnn::Gmnm head{nullptr};
  HeadModelImpl() {
    features = register_module("features", torch::nn::Linear(2, 4));
    head = register_module("head", gsnn::Gmnm(gsnn::GmnmOptions(4, 1).components(32)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return head(torch::tanh(features(x))); }
};
TORCH_MODULE(HeadModel);

int main() {
  torch::manual_seed(0);
  const auto x = torch::rand({512, 2}) * 2 - 1;
  const auto y = torch::sin(3 * x.select(1, 0)).mul(x.select(1, 1)).unsqueeze(1);
  HeadModel model;
  {
    torch::NoGradGuard guard;  // centres where the head's inputs are (k-means++)
    model->head->initialise(torch::tanh(model->features(x)));
  }
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-2));
  for (int step = 1; step <= 500; ++step) {
    adam.zero_grad();
    const auto loss = torch::mse_loss(model(x), y);
    loss.backward();
    adam.step();
    if (step % 100 == 0) std::printf("step %d: mse %.3g\n", step, loss.item<double>());
  }
  return 0;
}
