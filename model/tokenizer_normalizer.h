#ifndef STAR_MODEL_TOKENIZER_NORMALIZER_H_
#define STAR_MODEL_TOKENIZER_NORMALIZER_H_

// The normalizers of tokenizer.json that the Tokenizer applies before pre-tokenization, as the
// `tokenizers` library does: Unicode normalization forms (NFC, as Qwen2.5 ships, and NFD; the
// tokenizer refuses NFKC and NFKD, whose compatibility mappings differ between Unicode 15 and
// tokenizers), Prepend (SentencePiece-style Llama-2 and TinyLlama prepend "▁") and Replace with a
// literal pattern (their " " -> "▁"). Each is applied to every stretch of text between added
// tokens on its own. The Unicode forms are model/unicode_normalization.h's; text that is not
// valid UTF-8 (which `tokenizers` cannot take at all) is left as it is by them.

#include <string>
#include <string_view>
#include <vector>

namespace star {

struct NormalizerStep {
  enum class Kind { kNfc, kNfd, kPrepend, kReplace };
  Kind kind = Kind::kNfc;
  std::string text;         // kPrepend: what is prepended; kReplace: the pattern
  std::string replacement;  // kReplace: what each occurrence becomes
};

// `text` after every step in order.
std::string Normalize(const std::vector<NormalizerStep>& steps, std::string_view text);

}  // namespace star

#endif  // STAR_MODEL_TOKENIZER_NORMALIZER_H_
