#ifndef STAR_MODEL_MODEL_CONFIG_H_
#define STAR_MODEL_MODEL_CONFIG_H_

// The fields of a Hugging Face `config.json` that define a Llama-architecture decoder
// (LlamaForCausalLM, and Qwen2ForCausalLM, which adds q/k/v biases). Torch-free.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace star {

enum class ModelDtype { kFloat32, kBFloat16, kFloat16 };

// "float32" / "bfloat16" / "float16" (the names transformers writes as torch_dtype / dtype).
const char* ModelDtypeName(ModelDtype dtype);
absl::StatusOr<ModelDtype> ParseModelDtype(absl::string_view name);

// The largest config.json read (real ones are a few kilobytes).
inline constexpr uint64_t kMaxModelConfigBytes = 1ULL << 20;

struct ModelConfig {
  std::string model_type = "llama";  // "llama" or "qwen2"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
  int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  // Biases on the q/k/v projections (always on for qwen2; `attention_bias` for llama, which
  // then also biases o_proj).
  bool qkv_bias = false;
  bool o_bias = false;
  ModelDtype dtype = ModelDtype::kFloat32;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;

  // Parses config.json text. Every missing or ill-typed required field and every unsupported
  // feature (rope_scaling, an activation other than silu, mlp_bias, sliding windows) is a
  // kInvalidArgument naming `source` and the field.
  static absl::StatusOr<ModelConfig> FromJson(absl::string_view json, absl::string_view source);
  // At most kMaxModelConfigBytes are read, whatever size the file claims.
  static absl::StatusOr<ModelConfig> FromFile(const std::string& path);

  // config.json text that transformers reads back as the same model.
  std::string ToJson() const;

  int64_t ParameterCount() const;
};

}  // namespace star

#endif  // STAR_MODEL_MODEL_CONFIG_H_
