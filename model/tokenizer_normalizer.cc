#include "model/tokenizer_normalizer.h"

#include "model/tokenizer_unicode.h"
#include "model/unicode_normalization.h"

namespace star {

std::string Normalize(const std::vector<NormalizerStep>& steps, std::string_view text) {
  std::string current(text);
  for (const NormalizerStep& step : steps) {
    switch (step.kind) {
      case NormalizerStep::Kind::kPrepend:
        // tokenizers prepends only to text that is not empty.
        if (!current.empty()) current.insert(0, step.text);
        break;
      case NormalizerStep::Kind::kReplace:
        current = tokenizer_internal::ReplaceAll(current, step.text, step.replacement);
        break;
      case NormalizerStep::Kind::kNfc:
        current = ToNfc(current);
        break;
      case NormalizerStep::Kind::kNfd:
        current = ToNfd(current);
        break;
    }
  }
  return current;
}

}  // namespace star
