#ifndef STAR_MODEL_SAMPLING_OPTIONS_H_
#define STAR_MODEL_SAMPLING_OPTIONS_H_

// How to decode, and what a decode produced. Torch-free, shared by the generator and callers.

#include <cstdint>
#include <string>
#include <vector>

namespace star {

struct SamplingOptions {
  int64_t max_new_tokens = 128;
  // 0: greedy (argmax). Otherwise logits are divided by it before sampling.
  double temperature = 0.0;
  // Keep only the k most likely tokens (0: all).
  int64_t top_k = 0;
  // Keep the smallest set of most likely tokens whose probability reaches top_p (1: all).
  double top_p = 1.0;
  // A sequence ends after producing one of these tokens (included in its tokens, not its
  // text) or once its text contains one of the stop strings (included in the text).
  std::vector<int32_t> eos_token_ids;
  std::vector<std::string> stop_strings;
  // Same seed, prompts and batch size: same output.
  uint64_t seed = 0;
  // Sequences decoded together. Finished sequences are dropped from the batch as it goes.
  int64_t batch_size = 16;
  // false: recompute the whole prefix at every step (for comparison only).
  bool use_kv_cache = true;
  // Decode steps between two looks at the sampled tokens on the host (each a synchronisation
  // on an accelerator); rows that finished in between decode a few tokens that are dropped, so
  // it changes no output of greedy decoding. 0: every step on the CPU, every 8 on CUDA.
  int64_t check_interval = 0;
};

enum class FinishReason { kEos, kStopString, kLength };

struct Completion {
  std::vector<int32_t> tokens;  // generated tokens, EOS included when it ended the sequence
  std::string text;             // decoded generated text, special tokens left out
  FinishReason finish_reason = FinishReason::kLength;
};

}  // namespace star

#endif  // STAR_MODEL_SAMPLING_OPTIONS_H_
