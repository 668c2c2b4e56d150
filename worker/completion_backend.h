#ifndef STAR_WORKER_COMPLETION_BACKEND_H_
#define STAR_WORKER_COMPLETION_BACKEND_H_

// Where a worker's completions come from: the model a shard names turns prompts into
// completions. LocalModelBackend (worker/local_model_backend.h) runs it in this process with
// libtorch; another backend could ask a model server instead. The worker verifies every answer
// itself, whatever the backend.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/compute_device.h"
#include "model/sampling_options.h"

namespace star {

// A model as a shard names it.
struct ModelRef {
  std::string id;    // the coordinator's checkpoint id: same id, same weights
  std::string path;  // a Hugging Face model directory
  Precision precision = Precision::kAuto;
};

class CompletionBackend {
 public:
  virtual ~CompletionBackend() = default;

  // One completion per prompt, in order. Errors: the model cannot be had (a path the worker may
  // not read, bad files) or generation failed. Called from one thread at a time.
  virtual absl::StatusOr<std::vector<Completion>> Complete(const ModelRef& model,
                                                           const std::vector<std::string>& prompts,
                                                           const SamplingOptions& options) = 0;

  // The worker has nothing to do (a lease long-poll came back empty: the pass is over, and a
  // training round may be starting on the same machine). A backend holding accelerator memory
  // may hand it back; the next Complete loads what it needs again.
  virtual void Idle() = 0;
};

}  // namespace star

#endif  // STAR_WORKER_COMPLETION_BACKEND_H_
