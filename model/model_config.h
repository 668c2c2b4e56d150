#ifndef STAR_MODEL_MODEL_CONFIG_H_
#define STAR_MODEL_MODEL_CONFIG_H_

// The fields of a Hugging Face `config.json` that define a Llama-architecture decoder:
// LlamaForCausalLM (with Llama 3's rope scaling), Qwen2ForCausalLM (q/k/v biases) and
// Qwen3ForCausalLM (an RMSNorm over each head of q and k, head_dim apart from hidden_size /
// heads). Torch-free.

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

// Llama 3's rotary frequency scaling (rope_type "llama3"): frequencies whose wavelength exceeds
// original_max_position_embeddings / low_freq_factor are divided by `factor`, those below
// original_max_position_embeddings / high_freq_factor kept, and those between blended.
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string model_type = "llama";  // "llama", "qwen2" or "qwen3"
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
  // An RMSNorm over each head of q and of k before the rotation (qwen3).
  bool qk_norm = false;
  std::optional<Llama3RopeScaling> rope_scaling;
  ModelDtype dtype = ModelDtype::kFloat32;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;

  // Parses config.json text. Every missing or ill-typed required field and every unsupported
  // feature (a rope scaling other than llama3's, an activation other than silu, mlp_bias,
  // sliding windows) is a kInvalidArgument naming `source` and the field.
  static absl::StatusOr<ModelConfig> FromJson(absl::string_view json, absl::string_view source);
  // At most kMaxModelConfigBytes are read, whatever size the file claims.
  static absl::StatusOr<ModelConfig> FromFile(const std::string& path);

  // config.json text that transformers reads back as the same model.
  std::string ToJson() const;

  int64_t ParameterCount() const;
};

// The EOS ids a model directory's generation_config.json gives (its eos_token_id: one id or a
// list), which transformers' generate() stops at in place of config.json's; nullopt when the
// file does not exist or names none. kInvalidArgument naming the file for a malformed one.
absl::StatusOr<std::optional<std::vector<int64_t>>> ReadGenerationEos(const std::string& model_dir);

}  // namespace star

#endif  // STAR_MODEL_MODEL_CONFIG_H_
