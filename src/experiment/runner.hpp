// Runs every task x model x seed of an experiment, one JSON result file and
// one saved model per run. Resumable: finished runs (same configuration) are
// skipped, and an interrupted run continues from its last checkpoint. Every
// file is written to a temporary name and renamed, so an interruption never
// leaves a damaged result. docs/experiments.md documents the result schema.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "experiment/spec.hpp"

namespace gsnn {

constexpr int kRunSchemaVersion = 2;  // 2: "kind", curve "parts"; the report reads 1 and 2

// Beside an image regression task's runs (e.g. fashion-reconstruction): its
// first kSampleImages test images, as the
// safetensors tensor "x" [n, channels, height, width], for the report's
// figure of originals against reconstructions.
constexpr const char* kTestImagesFile = "test-images.safetensors";
constexpr int64_t kSampleImages = 8;

struct RunOptions {
  bool progress = true;
  std::string device = "cpu";
  int64_t checkpoint_every = 500;  // steps between checkpoints (adam/adamw)
};

struct RunSummary {
  int skipped = 0;  // already finished
  int resumed = 0;  // continued from a checkpoint
  int ran = 0;      // trained now (including resumed)
};

RunSummary run_experiment(const Experiment& experiment, const RunOptions& options);

// Directory of one run: OUTPUT/TASK/LABEL/seed-S (label made file-name safe).
std::string run_directory(const Experiment& e, const std::string& task, const std::string& label,
                          uint64_t seed);

}  // namespace gsnn
