#ifndef STAR_WORKER_LOCAL_MODEL_BACKEND_H_
#define STAR_WORKER_LOCAL_MODEL_BACKEND_H_

// Completions from a model this process loads with libtorch (model/text_generator.h), on the
// worker's --device. The model of the last checkpoint used is kept while shards keep naming it.
// On CUDA, an idle worker drops it and hands the allocator's cached memory back, so that a
// training rank sharing the GPU has room (the next pass needs the round's new model anyway).

#include <memory>
#include <string>
#include <vector>

#include "files/path_policy.h"
#include "model/compute_device.h"
#include "model/text_generator.h"
#include "worker/completion_backend.h"
#include "worker/worker_metrics.h"

namespace star {

class LocalModelBackend : public CompletionBackend {
 public:
  // Checkpoints are loaded only from under `paths` (a model path elsewhere fails, naming the
  // roots). `metrics` and `paths` must outlive the backend.
  LocalModelBackend(const ComputeDevice& device, const PathPolicy* paths, WorkerMetrics* metrics);

  LocalModelBackend(const LocalModelBackend&) = delete;
  LocalModelBackend& operator=(const LocalModelBackend&) = delete;

  absl::StatusOr<std::vector<Completion>> Complete(const ModelRef& model,
                                                   const std::vector<std::string>& prompts,
                                                   const SamplingOptions& options) override;
  void Idle() override;

 private:
  absl::StatusOr<TextGenerator*> Load(const ModelRef& model);

  const ComputeDevice device_;
  const PathPolicy* paths_;
  WorkerMetrics* metrics_;
  std::string loaded_id_;
  Precision loaded_precision_ = Precision::kAuto;
  std::unique_ptr<TextGenerator> generator_;
};

}  // namespace star

#endif  // STAR_WORKER_LOCAL_MODEL_BACKEND_H_
