#include "model/model_config.h"

#include "gtest/gtest.h"

namespace star {
namespace {

constexpr char kLlama[] = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 100,
  "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
  "rope_theta": 500000.0, "max_position_embeddings": 256, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": [2, 3], "hidden_act": "silu"
})";

TEST(ModelConfigTest, ParsesLlamaFields) {
  absl::StatusOr<ModelConfig> c = ModelConfig::FromJson(kLlama, "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vocab_size, 100);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->num_key_value_heads, 2);
  EXPECT_DOUBLE_EQ(c->rope_theta, 500000.0);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->dtype, ModelDtype::kBFloat16);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{2, 3}));
  EXPECT_FALSE(c->qkv_bias);
}

TEST(ModelConfigTest, Qwen2HasQkvBiasAndNoOutputBias) {
  absl::StatusOr<ModelConfig> c = ModelConfig::FromJson(
      R"({"model_type":"qwen2","vocab_size":10,"hidden_size":8,"intermediate_size":16,
          "num_hidden_layers":1,"num_attention_heads":2})",
      "q.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->qkv_bias);
  EXPECT_FALSE(c->o_bias);
  EXPECT_EQ(c->num_key_value_heads, 2);
}

TEST(ModelConfigTest, RoundTripsThroughToJson) {
  absl::StatusOr<ModelConfig> c = ModelConfig::FromJson(kLlama, "config.json");
  ASSERT_TRUE(c.ok());
  absl::StatusOr<ModelConfig> again = ModelConfig::FromJson(c->ToJson(), "written");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ToJson(), c->ToJson());
  EXPECT_EQ(again->ParameterCount(), c->ParameterCount());
}

TEST(ModelConfigTest, ErrorsNameTheFileAndField) {
  auto expect_error = [](const std::string& json, const std::string& fragment) {
    absl::StatusOr<ModelConfig> c = ModelConfig::FromJson(json, "cfg.json");
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(fragment), std::string::npos) << c.status();
    EXPECT_EQ(c.status().message().substr(0, 9), "cfg.json:");
  };
  expect_error("[", "not valid JSON");
  expect_error(R"({"vocab_size":10})", "hidden_size is required");
  expect_error(R"({"vocab_size":"10"})", "vocab_size must be an integer");
  expect_error(R"({"model_type":"gpt2"})", "model_type 'gpt2' is not supported");
  expect_error(R"({"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
                   "num_attention_heads":4,"num_key_value_heads":3})",
               "num_key_value_heads (3) must divide num_attention_heads (4)");
  expect_error(R"({"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
                   "num_attention_heads":2,"rope_scaling":{"rope_type":"llama3","factor":8}})",
               "rope_scaling is not supported");
  expect_error(R"({"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
                   "num_attention_heads":2,"hidden_act":"gelu"})",
               "hidden_act must be \"silu\"");
  expect_error(R"({"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
                   "num_attention_heads":2,"torch_dtype":"int8"})",
               "torch_dtype dtype 'int8' is not one of float32, bfloat16, float16");
}

}  // namespace
}  // namespace star
