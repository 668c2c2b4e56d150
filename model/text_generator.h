#ifndef STAR_MODEL_TEXT_GENERATOR_H_
#define STAR_MODEL_TEXT_GENERATOR_H_

// Text in, text out: a model directory's decoder and tokenizer behind a torch-free interface,
// for workers and the CLI (which must not include torch headers).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/compute_device.h"
#include "model/model_config.h"
#include "model/sampling_options.h"

namespace star {

class Tokenizer;

class TextGenerator {
 public:
  // Loads config.json, the safetensors weights and tokenizer.json from `model_dir` onto
  // `device`, in `precision` (kAuto: bfloat16 on CUDA, the checkpoint's dtype on the CPU).
  // The model's EOS ids (generation_config.json's eos_token_id when the folder has one, else
  // config.json's) end sequences unless the options name others.
  static absl::StatusOr<std::unique_ptr<TextGenerator>> Load(const std::string& model_dir,
                                                             const ComputeDevice& device = {},
                                                             Precision precision = Precision::kAuto);

  TextGenerator(const TextGenerator&) = delete;
  TextGenerator& operator=(const TextGenerator&) = delete;
  ~TextGenerator();

  // Continues each prompt. kInvalidArgument for an empty prompt (after tokenization) or a
  // prompt longer than max_position_embeddings; kInternal for a libtorch failure.
  // Not thread-safe: one call at a time.
  absl::StatusOr<std::vector<Completion>> Generate(const std::vector<std::string>& prompts,
                                                   const SamplingOptions& options);

  const ModelConfig& config() const;
  const Tokenizer& tokenizer() const;
  const ComputeDevice& device() const;

 private:
  struct Impl;
  explicit TextGenerator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Hands the memory libtorch's caching allocator holds on the accelerator but no tensor uses
// back to the driver (after a generator was destroyed, so that a training rank on the same GPU
// can have it). Does nothing without a CUDA device.
void ReleaseCachedDeviceMemory();

// Intra-op threads libtorch uses in this process (one per process is best when several workers
// and trainer ranks share a machine).
void SetComputeThreads(int threads);

// Writes a randomly initialised model directory: config.json (from `config_path`, a Hugging
// Face config), model.safetensors and a copy of the tokenizer at `tokenizer_path`. Errors name
// the bad file and field; kInvalidArgument if the tokenizer's vocabulary does not fit the
// config's vocab_size.
absl::Status InitRandomModel(const std::string& config_path, const std::string& tokenizer_path,
                             const std::string& out_dir, uint64_t seed);

}  // namespace star

#endif  // STAR_MODEL_TEXT_GENERATOR_H_
