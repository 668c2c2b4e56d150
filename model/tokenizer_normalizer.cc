#include "model/tokenizer_normalizer.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include "model/tokenizer_unicode.h"

namespace star {
namespace {

const icu::Normalizer2* FormOf(NormalizerStep::Kind kind, UErrorCode& error) {
  switch (kind) {
    case NormalizerStep::Kind::kNfc: return icu::Normalizer2::getNFCInstance(error);
    case NormalizerStep::Kind::kNfd: return icu::Normalizer2::getNFDInstance(error);
    case NormalizerStep::Kind::kNfkc: return icu::Normalizer2::getNFKCInstance(error);
    default: return icu::Normalizer2::getNFKDInstance(error);
  }
}

std::string UnicodeForm(NormalizerStep::Kind kind, std::string_view text) {
  // Invalid UTF-8 is what lossy decoding would change.
  if (tokenizer_internal::LossyUtf8(text) != text) return std::string(text);
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* form = FormOf(kind, error);
  if (U_FAILURE(error)) return std::string(text);
  const icu::UnicodeString input = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  // Text that is already in the form is most text: checked without copying.
  if (form->isNormalized(input, error) && U_SUCCESS(error)) return std::string(text);
  error = U_ZERO_ERROR;
  const icu::UnicodeString normalized = form->normalize(input, error);
  if (U_FAILURE(error)) return std::string(text);
  std::string out;
  normalized.toUTF8String(out);
  return out;
}

}  // namespace

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
      default:
        current = UnicodeForm(step.kind, current);
    }
  }
  return current;
}

}  // namespace star
