#include "model/text_generator.h"

#include <filesystem>

#include <ATen/DeviceAccelerator.h>

#include "absl/strings/str_cat.h"
#include "model/cuda_devices.h"
#include "model/generation.h"
#include "model/llama_model.h"
#include "model/tokenizer.h"

namespace star {

struct TextGenerator::Impl {
  std::unique_ptr<LlamaModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
  // What ends a sequence unless the options say otherwise: generation_config.json's EOS ids
  // when the folder has them, else config.json's.
  std::vector<int64_t> eos_token_ids;
  ComputeDevice device;
};

TextGenerator::TextGenerator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TextGenerator::~TextGenerator() = default;

absl::StatusOr<std::unique_ptr<TextGenerator>> TextGenerator::Load(const std::string& model_dir,
                                                                   const ComputeDevice& device,
                                                                   Precision precision) {
  if (!std::filesystem::is_directory(model_dir)) {
    return absl::NotFoundError(absl::StrCat(model_dir, ": not a model directory"));
  }
  auto impl = std::make_unique<Impl>();
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile(absl::StrCat(model_dir, "/tokenizer.json"));
  if (!tokenizer.ok()) return tokenizer.status();
  impl->tokenizer = std::make_unique<Tokenizer>(std::move(*tokenizer));
  try {
    absl::StatusOr<std::unique_ptr<LlamaModel>> model =
        LlamaModel::Load(model_dir, GenerationDtype(precision, device), ToTorchDevice(device));
    if (!model.ok()) return model.status();
    impl->model = std::move(*model);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(model_dir, ": ", e.what_without_backtrace()));
  }
  // generate() stops at generation_config.json's EOS ids when the folder has them.
  absl::StatusOr<std::optional<std::vector<int64_t>>> eos = ReadGenerationEos(model_dir);
  if (!eos.ok()) return eos.status();
  impl->device = device;
  impl->eos_token_ids = eos->has_value() ? **eos : impl->model->config().eos_token_ids;
  if (impl->tokenizer->vocab_size() > impl->model->config().vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        model_dir, ": tokenizer.json has ", impl->tokenizer->vocab_size(),
        " tokens but config.json vocab_size is ", impl->model->config().vocab_size));
  }
  return std::unique_ptr<TextGenerator>(new TextGenerator(std::move(impl)));
}

const ModelConfig& TextGenerator::config() const { return impl_->model->config(); }
const Tokenizer& TextGenerator::tokenizer() const { return *impl_->tokenizer; }
const ComputeDevice& TextGenerator::device() const { return impl_->device; }

absl::StatusOr<std::vector<Completion>> TextGenerator::Generate(
    const std::vector<std::string>& prompts, const SamplingOptions& options) {
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(prompts.size());
  const ModelConfig& config = impl_->model->config();
  for (size_t i = 0; i < prompts.size(); ++i) {
    ids.push_back(impl_->tokenizer->Encode(prompts[i], /*add_special_tokens=*/true));
    if (ids.back().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("prompt ", i, " is empty"));
    }
    if (static_cast<int64_t>(ids.back().size()) + options.max_new_tokens >
        config.max_position_embeddings) {
      return absl::InvalidArgumentError(absl::StrCat(
          "prompt ", i, " has ", ids.back().size(), " tokens; with max_new_tokens ",
          options.max_new_tokens, " that exceeds max_position_embeddings ",
          config.max_position_embeddings));
    }
  }
  SamplingOptions effective = options;
  if (effective.eos_token_ids.empty()) {
    for (int64_t id : impl_->eos_token_ids) effective.eos_token_ids.push_back(static_cast<int32_t>(id));
  }
  try {
    return GenerateBatched(*impl_->model, *impl_->tokenizer, ids, effective);
  } catch (const c10::Error& e) {
    return absl::InternalError(e.what_without_backtrace());
  }
}

void ReleaseCachedDeviceMemory() {
  if (VisibleCudaDevices() == 0) return;
  try {
    at::accelerator::emptyCache();
  } catch (const c10::Error&) {
    // Nothing was cached on a device this process never used.
  }
}

void SetComputeThreads(int threads) { at::set_num_threads(std::max(1, threads)); }

absl::Status InitRandomModel(const std::string& config_path, const std::string& tokenizer_path,
                             const std::string& out_dir, uint64_t seed) {
  absl::StatusOr<ModelConfig> config = ModelConfig::FromFile(config_path);
  if (!config.ok()) return config.status();
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile(tokenizer_path);
  if (!tokenizer.ok()) return tokenizer.status();
  if (tokenizer->vocab_size() > config->vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        tokenizer_path, ": ", tokenizer->vocab_size(), " tokens do not fit ", config_path,
        " vocab_size ", config->vocab_size));
  }
  try {
    std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(*config, seed);
    if (absl::Status s = model->Save(out_dir); !s.ok()) return s;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(out_dir, ": ", e.what_without_backtrace()));
  }
  std::error_code ec;
  std::filesystem::copy_file(tokenizer_path, absl::StrCat(out_dir, "/tokenizer.json"),
                             std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat(out_dir, "/tokenizer.json: ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace star
