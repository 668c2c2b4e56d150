#include "worker/local_model_backend.h"

#include "log/log.h"

namespace star {

LocalModelBackend::LocalModelBackend(const ComputeDevice& device, const PathPolicy* paths,
                                     WorkerMetrics* metrics)
    : device_(device), paths_(paths), metrics_(metrics) {}

absl::StatusOr<TextGenerator*> LocalModelBackend::Load(const ModelRef& model) {
  if (generator_ != nullptr && model.id == loaded_id_ && model.precision == loaded_precision_) {
    return generator_.get();
  }
  generator_.reset();  // its memory is free before the next model loads
  absl::StatusOr<std::string> path = paths_->ConfineFolder("checkpoint_path", model.path);
  if (!path.ok()) return path.status();
  absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<TextGenerator>> loaded =
      TextGenerator::Load(*path, device_, model.precision);
  if (!loaded.ok()) return loaded.status();
  metrics_->RecordCheckpointLoad(absl::Now() - start);
  generator_ = std::move(*loaded);
  loaded_id_ = model.id;
  loaded_precision_ = model.precision;
  STAR_LOG(INFO) << "loaded checkpoint " << model.id << " from " << *path << " on "
                 << device_.ToString();
  return generator_.get();
}

absl::StatusOr<std::vector<Completion>> LocalModelBackend::Complete(
    const ModelRef& model, const std::vector<std::string>& prompts,
    const SamplingOptions& options) {
  absl::StatusOr<TextGenerator*> generator = Load(model);
  if (!generator.ok()) return generator.status();
  return (*generator)->Generate(prompts, options);
}

void LocalModelBackend::Idle() {
  if (!device_.cuda || generator_ == nullptr) return;
  generator_.reset();
  ReleaseCachedDeviceMemory();
  STAR_LOG(INFO) << "idle: released checkpoint " << loaded_id_ << " and cached memory on "
                 << device_.ToString();
}

}  // namespace star
