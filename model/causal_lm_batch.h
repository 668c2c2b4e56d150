#ifndef STAR_MODEL_CAUSAL_LM_BATCH_H_
#define STAR_MODEL_CAUSAL_LM_BATCH_H_

// Training batches for a causal language model where the loss covers the completion only (the
// rationale and the answer), never the prompt: STaR's fine-tuning objective.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "model/llama_model.h"

namespace star {

struct PromptCompletion {
  std::vector<int32_t> prompt;
  std::vector<int32_t> completion;
};

// Right-padded tensors for a batch of examples. Sequences longer than `max_length` are cut at
// the end (the completion loses its tail).
struct CausalLmBatch {
  torch::Tensor ids;        // [batch, length] int64
  torch::Tensor positions;  // [batch, length] int64
  torch::Tensor valid;      // [batch, length] bool: real tokens
  torch::Tensor labels;     // [batch, length] int64: the next token where it is a completion
                            // token to learn, -100 elsewhere
  int64_t loss_tokens = 0;  // labels that count
  int64_t real_tokens = 0;  // valid positions

  // The same batch with its tensors on `device`.
  CausalLmBatch To(const torch::Device& device) const;
};

CausalLmBatch MakeCausalLmBatch(const std::vector<PromptCompletion>& examples, int64_t max_length);

// Mean cross-entropy over the batch's completion tokens (0 when it has none). Differentiable.
// Padding is on the right, so causal attention alone keeps it from every real token: the
// forward pass runs without a padding mask (and may use flash attention).
torch::Tensor CausalLmLoss(LlamaModel& model, const CausalLmBatch& batch);

}  // namespace star

#endif  // STAR_MODEL_CAUSAL_LM_BATCH_H_
