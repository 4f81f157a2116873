// The built-in model families (nn/families.cpp), registered by nn/registry.cpp.
#pragma once

#include "nn/registry.hpp"

namespace gsnn {

ModelFamily gsnn_family();
ModelFamily mlp_family();
ModelFamily hybrid_family();
ModelFamily cnn_family();
ModelFamily lstm_family();
ModelFamily autoencoder_family();
ModelFamily lengthscale_family();
ModelFamily gmnm_family();
ModelFamily kan_family();
ModelFamily rbf_family();
ModelFamily gp_family();

}  // namespace gsnn
