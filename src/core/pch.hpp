// Precompiled header for the library, the command and the tests: LibTorch's
// headers take ~20 s per translation unit, so they are compiled once here.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
