#include "model/causal_lm_batch.h"

#include <algorithm>

namespace star {

CausalLmBatch MakeCausalLmBatch(const std::vector<PromptCompletion>& examples,
                                int64_t max_length) {
  int64_t length = 1;
  for (const PromptCompletion& e : examples) {
    length = std::max<int64_t>(length, static_cast<int64_t>(e.prompt.size() + e.completion.size()));
  }
  length = std::min(length, max_length);
  const int64_t batch = static_cast<int64_t>(examples.size());
  CausalLmBatch out;
  out.ids = torch::zeros({batch, length}, torch::kInt64);
  out.valid = torch::zeros({batch, length}, torch::kBool);
  out.labels = torch::full({batch, length}, -100, torch::kInt64);
  auto ids = out.ids.accessor<int64_t, 2>();
  auto valid = out.valid.accessor<bool, 2>();
  auto labels = out.labels.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const PromptCompletion& e = examples[b];
    std::vector<int32_t> tokens = e.prompt;
    tokens.insert(tokens.end(), e.completion.begin(), e.completion.end());
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(tokens.size()), length);
    const int64_t prompt_len = static_cast<int64_t>(e.prompt.size());
    for (int64_t t = 0; t < n; ++t) {
      ids[b][t] = tokens[t];
      valid[b][t] = true;
      ++out.real_tokens;
      // Position t predicts token t + 1; learn it when that token belongs to the completion.
      if (t + 1 < n && t + 1 >= prompt_len) {
        labels[b][t] = tokens[t + 1];
        ++out.loss_tokens;
      }
    }
  }
  out.positions = torch::arange(length, torch::kInt64).expand({batch, length}).contiguous();
  return out;
}

CausalLmBatch CausalLmBatch::To(const torch::Device& device) const {
  CausalLmBatch out = *this;
  out.ids = ids.to(device);
  out.positions = positions.to(device);
  out.valid = valid.to(device);
  out.labels = labels.to(device);
  return out;
}

torch::Tensor CausalLmLoss(LlamaModel& model, const CausalLmBatch& batch) {
  torch::Tensor logits = model.Forward(batch.ids, batch.positions, torch::Tensor(), nullptr);
  if (batch.loss_tokens == 0) return (logits * 0).sum();
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32), batch.labels.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kMean));
}

}  // namespace star
