#include "model/causal_lm_batch.h"

#include "gtest/gtest.h"

namespace star {
namespace {

ModelConfig Tiny() {
  ModelConfig c;
  c.vocab_size = 20;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  return c;
}

TEST(CausalLmBatchTest, LabelsCoverCompletionTokensOnly) {
  CausalLmBatch batch = MakeCausalLmBatch({{{1, 2, 3}, {4, 5}}, {{6}, {7, 8, 9}}}, 16);
  ASSERT_EQ(batch.ids.size(1), 5);
  // Row 0: tokens 1 2 3 4 5; positions 2 and 3 predict 4 and 5.
  std::vector<int64_t> row0(batch.labels[0].data_ptr<int64_t>(), batch.labels[0].data_ptr<int64_t>() + 5);
  std::vector<int64_t> row1(batch.labels[1].data_ptr<int64_t>(), batch.labels[1].data_ptr<int64_t>() + 5);
  EXPECT_EQ(row0, (std::vector<int64_t>{-100, -100, 4, 5, -100}));
  EXPECT_EQ(row1, (std::vector<int64_t>{7, 8, 9, -100, -100}));
  EXPECT_EQ(batch.loss_tokens, 5);
  EXPECT_EQ(batch.valid.sum().item<int64_t>(), 9);
}

TEST(CausalLmBatchTest, LongExamplesAreCutAtMaxLength) {
  CausalLmBatch batch = MakeCausalLmBatch({{{1, 2}, {3, 4, 5, 6}}}, 4);
  ASSERT_EQ(batch.ids.size(1), 4);
  std::vector<int64_t> labels(batch.labels.data_ptr<int64_t>(), batch.labels.data_ptr<int64_t>() + 4);
  EXPECT_EQ(labels, (std::vector<int64_t>{-100, 3, 4, -100}));
}

TEST(CausalLmBatchTest, LossIgnoresThePromptAndPadding) {
  auto model = LlamaModel::RandomInit(Tiny(), 5);
  CausalLmBatch a = MakeCausalLmBatch({{{1, 2, 3}, {4, 5}}, {{6}, {7}}}, 16);
  // The loss is the mean negative log-likelihood of exactly the three completion tokens.
  torch::Tensor loss = CausalLmLoss(*model, a);
  torch::Tensor logits = model->Forward(a.ids, a.positions, a.valid, nullptr);
  torch::Tensor logp = torch::log_softmax(logits, -1);
  double manual = -(logp[0][2][4].item<double>() + logp[0][3][5].item<double>() +
                    logp[1][0][7].item<double>()) / 3.0;
  EXPECT_NEAR(loss.item<double>(), manual, 1e-5);
  loss.backward();
  // Token 0 appears only as padding (row 1 is shorter): its embedding gets no gradient.
  torch::Tensor embed_grad = model->parameters()[0].grad();
  ASSERT_TRUE(embed_grad.defined());
  EXPECT_EQ(embed_grad[0].abs().sum().item<float>(), 0.0f);
  EXPECT_GT(embed_grad[1].abs().sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace star
