#ifndef STAR_MODEL_GENERATION_H_
#define STAR_MODEL_GENERATION_H_

// Batched autoregressive decoding with a KV cache allocated once per batch.
//
// Prompts are batched by length (shortest first) and decoded on the model's device. Prompts of
// different lengths share a batch: they are left-padded, padding is masked out of attention,
// and rotary positions count real tokens only, so a prompt decodes the same alone or in a
// batch. Tokens are sampled on the device; the host looks at them every
// options.check_interval steps (one synchronisation per look). Rows that finish are dropped from the
// batch (cache included) once a quarter of the batch has finished, so they stop costing
// compute.

#include <cstdint>
#include <vector>

#include "model/llama_model.h"
#include "model/sampling_options.h"
#include "model/tokenizer.h"

namespace star {

// Continues every prompt (token ids, non-empty) and returns one Completion per prompt, in
// order. Prompts are decoded in batches of at most options.batch_size. Throws c10::Error on misuse
// (callers outside model/ use TextGenerator, which returns a Status).
std::vector<Completion> GenerateBatched(LlamaModel& model, const Tokenizer& tokenizer,
                                        const std::vector<std::vector<int32_t>>& prompts,
                                        const SamplingOptions& options);

// Picks the next token of each row of `logits` [rows, vocab] as `options` says, drawing from
// `generator` when sampling.
torch::Tensor SampleNextTokens(const torch::Tensor& logits, const SamplingOptions& options,
                               at::Generator& generator);

}  // namespace star

#endif  // STAR_MODEL_GENERATION_H_
