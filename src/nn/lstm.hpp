// Seed 002 section 5.3: a small LSTM forecaster of sequences
// [steps, features], optionally with a GMNM layer on its last hidden state:
//   LSTM (hidden units) over the steps -> last hidden state h [hidden]
//   head: linear (hidden -> outputs), or GMNM (hidden -> outputs: `components`
//   Gaussian components of rank `rank` on h, centres placed by k-means++ on
//   the hidden states of the training sequences and then trained)
// h lies in (-1, 1)^hidden (tanh times a sigmoid), so the GMNM needs no
// scaling in front. Deterministic: regression noise comes from the Network.
#pragma once

#include <string>
#include <vector>

#include "nn/gmnm.hpp"
#include "nn/model.hpp"

namespace gsnn {

// The defaults here are the registry's defaults (nn/families.cpp reads them).
struct LstmOptions {
  std::vector<int64_t> input_shape = {10, 4};  // steps, features per step
  int64_t outputs = 1;
  int64_t hidden = 3;           // LSTM units
  std::string head = "linear";  // linear | gmnm
  int64_t components = 100;     // GMNM head: components m
  int64_t rank = 0;             // GMNM head: projections per component; 0 = hidden
};

class LstmImpl : public ModelImpl {
 public:
  explicit LstmImpl(LstmOptions options);
  Moments forward(const Moments& input) override;
  // The GMNM head's centres: k-means++ on the last hidden states of (at most
  // kInitialisationSequences) training sequences.
  void initialise(const torch::Tensor& x, const torch::Tensor& y) override;
  torch::Tensor last_hidden(const torch::Tensor& sequences);  // [n, hidden]
  const LstmOptions& options() const { return options_; }

  static constexpr int64_t kInitialisationSequences = 4096;

 private:
  LstmOptions options_;
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Linear linear_head_{nullptr};
  Gmnm gmnm_head_{nullptr};
};
TORCH_MODULE(Lstm);

}  // namespace gsnn
