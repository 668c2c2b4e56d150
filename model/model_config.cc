#include "model/model_config.h"

#include <filesystem>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "files/bounded_read.h"
#include "files/excerpt.h"
#include "nlohmann/json.hpp"

namespace star {
namespace {

using Json = nlohmann::json;

absl::Status FieldError(absl::string_view source, absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", field, " ", what));
}

// Reads an integer field; `required` fields must be present.
absl::Status ReadInt(const Json& j, absl::string_view source, const char* field, bool required,
                     int64_t min, int64_t* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    return required ? FieldError(source, field, "is required") : absl::OkStatus();
  }
  if (!it->is_number_integer()) return FieldError(source, field, "must be an integer");
  int64_t value = it->get<int64_t>();
  if (value < min) return FieldError(source, field, absl::StrCat("must be >= ", min));
  *out = value;
  return absl::OkStatus();
}

absl::Status ReadDouble(const Json& j, absl::string_view source, const char* field, double* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number()) return FieldError(source, field, "must be a number");
  *out = it->get<double>();
  if (!(*out > 0)) return FieldError(source, field, "must be > 0");
  return absl::OkStatus();
}

absl::Status ReadBool(const Json& j, absl::string_view source, const char* field, bool* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return FieldError(source, field, "must be true or false");
  *out = it->get<bool>();
  return absl::OkStatus();
}

}  // namespace

const char* ModelDtypeName(ModelDtype dtype) {
  switch (dtype) {
    case ModelDtype::kFloat32:
      return "float32";
    case ModelDtype::kBFloat16:
      return "bfloat16";
    case ModelDtype::kFloat16:
      return "float16";
  }
  return "float32";
}

absl::StatusOr<ModelDtype> ParseModelDtype(absl::string_view name) {
  if (name == "float32") return ModelDtype::kFloat32;
  if (name == "bfloat16") return ModelDtype::kBFloat16;
  if (name == "float16") return ModelDtype::kFloat16;
  return absl::InvalidArgumentError(
      absl::StrCat("dtype '", Excerpt(name), "' is not one of float32, bfloat16, float16"));
}

absl::StatusOr<ModelConfig> ModelConfig::FromJson(absl::string_view text, absl::string_view source) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(source, ": not valid JSON"));
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  ModelConfig c;
  if (auto it = j.find("model_type"); it != j.end()) {
    if (!it->is_string()) return FieldError(source, "model_type", "must be a string");
    c.model_type = it->get<std::string>();
  }
  if (c.model_type != "llama" && c.model_type != "qwen2" && c.model_type != "qwen3") {
    return FieldError(source, "model_type", absl::StrCat("'", Excerpt(c.model_type),
                                                         "' is not supported (llama, qwen2, qwen3)"));
  }
  absl::Status s;
  if (!(s = ReadInt(j, source, "vocab_size", true, 1, &c.vocab_size)).ok()) return s;
  if (!(s = ReadInt(j, source, "hidden_size", true, 1, &c.hidden_size)).ok()) return s;
  if (!(s = ReadInt(j, source, "intermediate_size", true, 1, &c.intermediate_size)).ok()) return s;
  if (!(s = ReadInt(j, source, "num_hidden_layers", true, 1, &c.num_hidden_layers)).ok()) return s;
  if (!(s = ReadInt(j, source, "num_attention_heads", true, 1, &c.num_attention_heads)).ok()) {
    return s;
  }
  c.num_key_value_heads = c.num_attention_heads;
  if (!(s = ReadInt(j, source, "num_key_value_heads", false, 1, &c.num_key_value_heads)).ok()) {
    return s;
  }
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return FieldError(source, "num_key_value_heads",
                      absl::StrFormat("(%d) must divide num_attention_heads (%d)",
                                      c.num_key_value_heads, c.num_attention_heads));
  }
  if (c.hidden_size % c.num_attention_heads != 0 && !j.contains("head_dim")) {
    return FieldError(source, "hidden_size", "must be a multiple of num_attention_heads");
  }
  c.head_dim = c.hidden_size / c.num_attention_heads;
  if (!(s = ReadInt(j, source, "head_dim", false, 2, &c.head_dim)).ok()) return s;
  if (c.head_dim % 2 != 0) return FieldError(source, "head_dim", "must be even (rotary pairs)");
  if (!(s = ReadInt(j, source, "max_position_embeddings", false, 1, &c.max_position_embeddings))
           .ok()) {
    return s;
  }
  if (!(s = ReadDouble(j, source, "rms_norm_eps", &c.rms_norm_eps)).ok()) return s;
  if (!(s = ReadDouble(j, source, "rope_theta", &c.rope_theta)).ok()) return s;
  // The rope parameters: transformers 5 writes rope_parameters (rope_theta and the scaling
  // together), earlier versions rope_scaling.
  for (const char* field : {"rope_parameters", "rope_scaling"}) {
    auto it = j.find(field);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object()) return FieldError(source, field, "must be an object or null");
    if (!(s = ReadDouble(*it, source, "rope_theta", &c.rope_theta)).ok()) return s;
    std::string type = "default";
    for (const char* key : {"rope_type", "type"}) {
      if (auto t = it->find(key); t != it->end()) {
        if (!t->is_string()) return FieldError(source, absl::StrCat(field, ".", key), "must be a string");
        type = t->get<std::string>();
      }
    }
    if (type == "default") continue;
    if (type != "llama3") {
      return FieldError(source, absl::StrCat(field, ".rope_type"),
                        absl::StrCat("'", Excerpt(type), "' is not supported (default, llama3)"));
    }
    Llama3RopeScaling r;
    const std::string prefix = absl::StrCat(source, ": ", field);
    if (!(s = ReadDouble(*it, prefix, "factor", &r.factor)).ok()) return s;
    if (!(s = ReadDouble(*it, prefix, "low_freq_factor", &r.low_freq_factor)).ok()) return s;
    if (!(s = ReadDouble(*it, prefix, "high_freq_factor", &r.high_freq_factor)).ok()) return s;
    if (!(s = ReadInt(*it, prefix, "original_max_position_embeddings", false, 1,
                      &r.original_max_position_embeddings))
             .ok()) {
      return s;
    }
    if (!(r.factor > 0) || !(r.low_freq_factor > 0) || !(r.high_freq_factor > r.low_freq_factor)) {
      return FieldError(source, field,
                        "llama3 scaling needs factor > 0 and high_freq_factor > low_freq_factor > 0");
    }
    c.rope_scaling = r;
  }
  if (!(s = ReadBool(j, source, "tie_word_embeddings", &c.tie_word_embeddings)).ok()) return s;
  bool attention_bias = false;
  if (!(s = ReadBool(j, source, "attention_bias", &attention_bias)).ok()) return s;
  if (c.model_type == "qwen2") {
    c.qkv_bias = true;
  } else {
    // llama and qwen3: attention_bias biases all four projections.
    c.qkv_bias = attention_bias;
    c.o_bias = attention_bias;
  }
  c.qk_norm = c.model_type == "qwen3";
  bool mlp_bias = false;
  if (!(s = ReadBool(j, source, "mlp_bias", &mlp_bias)).ok()) return s;
  if (mlp_bias) return FieldError(source, "mlp_bias", "is not supported (must be false)");
  bool sliding = false;
  if (!(s = ReadBool(j, source, "use_sliding_window", &sliding)).ok()) return s;
  if (sliding) return FieldError(source, "use_sliding_window", "is not supported");
  if (auto it = j.find("hidden_act"); it != j.end()) {
    if (!it->is_string() || it->get<std::string>() != "silu") {
      return FieldError(source, "hidden_act", "must be \"silu\"");
    }
  }
  for (const char* field : {"torch_dtype", "dtype"}) {
    if (auto it = j.find(field); it != j.end() && !it->is_null()) {
      if (!it->is_string()) return FieldError(source, field, "must be a string");
      absl::StatusOr<ModelDtype> dtype = ParseModelDtype(it->get<std::string>());
      if (!dtype.ok()) return FieldError(source, field, dtype.status().message());
      c.dtype = *dtype;
    }
  }
  int64_t id = 0;
  if (j.contains("bos_token_id") && !j["bos_token_id"].is_null()) {
    if (!(s = ReadInt(j, source, "bos_token_id", true, 0, &id)).ok()) return s;
    c.bos_token_id = id;
  }
  if (j.contains("pad_token_id") && !j["pad_token_id"].is_null()) {
    if (!(s = ReadInt(j, source, "pad_token_id", true, 0, &id)).ok()) return s;
    c.pad_token_id = id;
  }
  if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null()) {
    Json list = it->is_array() ? *it : Json::array({*it});
    for (const Json& e : list) {
      if (!e.is_number_integer() || e.get<int64_t>() < 0) {
        return FieldError(source, "eos_token_id", "must be a token id or a list of them");
      }
      c.eos_token_ids.push_back(e.get<int64_t>());
    }
  }
  return c;
}

absl::StatusOr<ModelConfig> ModelConfig::FromFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, kMaxModelConfigBytes);
  if (!text.ok()) return text.status();
  return FromJson(*text, path);
}

std::string ModelConfig::ToJson() const {
  Json j;
  const bool qwen = model_type == "qwen2";
  j["architectures"] = Json::array({qwen                       ? "Qwen2ForCausalLM"
                                    : model_type == "qwen3" ? "Qwen3ForCausalLM"
                                                            : "LlamaForCausalLM"});
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = tie_word_embeddings;
  if (rope_scaling) {
    j["rope_parameters"] = {{"rope_type", "llama3"},
                            {"rope_theta", rope_theta},
                            {"factor", rope_scaling->factor},
                            {"low_freq_factor", rope_scaling->low_freq_factor},
                            {"high_freq_factor", rope_scaling->high_freq_factor},
                            {"original_max_position_embeddings",
                             rope_scaling->original_max_position_embeddings}};
  }
  if (!qwen) {
    j["attention_bias"] = qkv_bias;
    j["mlp_bias"] = false;
  }
  j["torch_dtype"] = ModelDtypeName(dtype);
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (pad_token_id) j["pad_token_id"] = *pad_token_id;
  if (eos_token_ids.size() == 1) {
    j["eos_token_id"] = eos_token_ids[0];
  } else if (!eos_token_ids.empty()) {
    j["eos_token_id"] = eos_token_ids;
  }
  return j.dump(2) + "\n";
}

int64_t ModelConfig::ParameterCount() const {
  int64_t q = num_attention_heads * head_dim;
  int64_t kv = num_key_value_heads * head_dim;
  int64_t attention = hidden_size * q + 2 * hidden_size * kv + q * hidden_size;
  if (qkv_bias) attention += q + 2 * kv;
  if (o_bias) attention += hidden_size;
  if (qk_norm) attention += 2 * head_dim;
  int64_t mlp = 3 * hidden_size * intermediate_size;
  int64_t layer = attention + mlp + 2 * hidden_size;
  int64_t embeddings = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  return embeddings + num_hidden_layers * layer + hidden_size;
}

absl::StatusOr<std::optional<std::vector<int64_t>>> ReadGenerationEos(const std::string& model_dir) {
  const std::string path = absl::StrCat(model_dir, "/generation_config.json");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::vector<int64_t>>();
  absl::StatusOr<std::string> text = ReadFileBounded(path, kMaxModelConfigBytes);
  if (!text.ok()) return text.status();
  Json j = Json::parse(text->begin(), text->end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  }
  auto it = j.find("eos_token_id");
  if (it == j.end() || it->is_null()) return std::optional<std::vector<int64_t>>();
  std::vector<int64_t> ids;
  for (const Json& e : it->is_array() ? *it : Json::array({*it})) {
    if (!e.is_number_integer() || e.get<int64_t>() < 0) {
      return FieldError(path, "eos_token_id", "must be a token id or a list of them");
    }
    ids.push_back(e.get<int64_t>());
  }
  return std::optional<std::vector<int64_t>>(std::move(ids));
}

}  // namespace star
