#include "model/model_config.h"

#include "gtest/gtest.h"
#include "tests/test_environment.h"

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
                   "num_attention_heads":2,"rope_scaling":{"rope_type":"linear","factor":8}})",
               "rope_scaling.rope_type 'linear' is not supported (default, llama3)");
  expect_error(R"({"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
                   "num_attention_heads":2,"rope_parameters":{"rope_type":"llama3","factor":8,
                   "low_freq_factor":4,"high_freq_factor":1}})",
               "rope_parameters llama3 scaling needs factor > 0 and high_freq_factor > low_freq_factor > 0");
  expect_error(R"({"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
                   "num_attention_heads":2,"hidden_act":"gelu"})",
               "hidden_act must be \"silu\"");
  expect_error(R"({"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
                   "num_attention_heads":2,"torch_dtype":"int8"})",
               "torch_dtype dtype 'int8' is not one of float32, bfloat16, float16");
}

TEST(ModelConfigTest, Llama3RopeScalingAndQwen3AreRead) {
  absl::StatusOr<ModelConfig> llama3 = ModelConfig::FromJson(
      R"({"vocab_size":10,"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
          "num_attention_heads":2,"rope_parameters":{"rope_type":"llama3","rope_theta":500000.0,
          "factor":32,"low_freq_factor":1,"high_freq_factor":4,
          "original_max_position_embeddings":8192}})",
      "config.json");
  ASSERT_TRUE(llama3.ok()) << llama3.status();
  ASSERT_TRUE(llama3->rope_scaling.has_value());
  EXPECT_DOUBLE_EQ(llama3->rope_scaling->factor, 32);
  EXPECT_EQ(llama3->rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_DOUBLE_EQ(llama3->rope_theta, 500000.0);
  absl::StatusOr<ModelConfig> again = ModelConfig::FromJson(llama3->ToJson(), "written");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ToJson(), llama3->ToJson());

  absl::StatusOr<ModelConfig> qwen3 = ModelConfig::FromJson(
      R"({"model_type":"qwen3","vocab_size":10,"hidden_size":8,"intermediate_size":16,
          "num_hidden_layers":1,"num_attention_heads":2,"head_dim":6,"use_sliding_window":false})",
      "config.json");
  ASSERT_TRUE(qwen3.ok()) << qwen3.status();
  EXPECT_TRUE(qwen3->qk_norm);
  EXPECT_FALSE(qwen3->qkv_bias);
  EXPECT_EQ(qwen3->head_dim, 6);
  EXPECT_NE(qwen3->ToJson().find("Qwen3ForCausalLM"), std::string::npos);
}

TEST(ModelConfigTest, GenerationConfigEosIdsAreReadWhenPresent) {
  testing::TempDir dir;
  absl::StatusOr<std::optional<std::vector<int64_t>>> none = ReadGenerationEos(dir.path());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  dir.Write("generation_config.json", R"({"bos_token_id": 1, "eos_token_id": [7, 9]})");
  absl::StatusOr<std::optional<std::vector<int64_t>>> ids = ReadGenerationEos(dir.path());
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(**ids, (std::vector<int64_t>{7, 9}));
  dir.Write("generation_config.json", R"({"eos_token_id": "x"})");
  EXPECT_NE(ReadGenerationEos(dir.path()).status().message().find("eos_token_id must be a token id"),
            std::string::npos);
}

}  // namespace
}  // namespace star
