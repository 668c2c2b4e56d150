#include "model/tokenizer_normalizer.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

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

bool ValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    uint32_t code = length == 1 ? c : c & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and code points beyond U+10FFFF are not UTF-8.
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return false;
    i += length;
  }
  return true;
}

std::string UnicodeForm(NormalizerStep::Kind kind, std::string_view text) {
  if (!ValidUtf8(text)) return std::string(text);
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
      case NormalizerStep::Kind::kReplace: {
        if (step.text.empty()) break;
        std::string out;
        size_t from = 0;
        for (size_t at = current.find(step.text); at != std::string::npos;
             at = current.find(step.text, from)) {
          out.append(current, from, at - from);
          out.append(step.replacement);
          from = at + step.text.size();
        }
        out.append(current, from, std::string::npos);
        current.swap(out);
        break;
      }
      default:
        current = UnicodeForm(step.kind, current);
    }
  }
  return current;
}

}  // namespace star
