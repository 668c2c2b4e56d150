#include "model/tokenizer_unicode.h"

#include <algorithm>
#include <array>
#include <queue>
#include <unordered_set>

#include "files/excerpt.h"

namespace star::tokenizer_internal {

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

size_t Utf8SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;  // a stray continuation byte or an invalid lead: step over it alone
}

size_t CharLengthAt(std::string_view text, size_t pos) {
  return std::min(Utf8SequenceLength(static_cast<unsigned char>(text[pos])), text.size() - pos);
}

char32_t CodePointAt(std::string_view text, size_t pos, size_t length) {
  auto byte = [&](size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[pos + i]));
  };
  switch (length) {
    case 2:
      return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3:
      return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    case 4:
      return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
             (byte(3) & 0x3F);
    default:
      return byte(0);
  }
}

bool IsUnicodeWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

size_t TrailingWhitespaceStart(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    if (!IsUnicodeWhitespace(CodePointAt(text, start, end - start))) break;
    end = start;
  }
  return end;
}

size_t LeadingWhitespaceLength(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = CharLengthAt(text, pos);
    if (!IsUnicodeWhitespace(CodePointAt(text, pos, length))) break;
    pos += length;
  }
  return pos;
}

std::string LossyUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  const size_t n = bytes.size();
  auto at = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  auto continuation = [&](size_t i) { return i < n && (at(i) & 0xC0) == 0x80; };
  size_t i = 0;
  while (i < n) {
    const unsigned char lead = at(i);
    if (lead < 0x80) {
      out.push_back(static_cast<char>(lead));
      ++i;
      continue;
    }
    const size_t start = i++;
    bool valid = false;
    if (lead >= 0xC2 && lead <= 0xDF) {
      if (continuation(i)) {
        ++i;
        valid = true;
      }
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      if (i < n) {
        const unsigned char second = at(i);
        bool ok = lead == 0xE0   ? (second >= 0xA0 && second <= 0xBF)
                  : lead == 0xED ? (second >= 0x80 && second <= 0x9F)
                                 : (second >= 0x80 && second <= 0xBF);
        if (ok) {
          ++i;
          if (continuation(i)) {
            ++i;
            valid = true;
          }
        }
      }
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      if (i < n) {
        const unsigned char second = at(i);
        bool ok = lead == 0xF0   ? (second >= 0x90 && second <= 0xBF)
                  : lead == 0xF4 ? (second >= 0x80 && second <= 0x8F)
                                 : (second >= 0x80 && second <= 0xBF);
        if (ok) {
          ++i;
          if (continuation(i)) {
            ++i;
            if (continuation(i)) {
              ++i;
              valid = true;
            }
          }
        }
      }
    }
    if (valid) {
      out.append(bytes.substr(start, i - start));
    } else {
      out.append("\xEF\xBF\xBD");
    }
  }
  return out;
}

void AppendByteLevelChars(std::string_view bytes, std::string* out) {
  const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::Get();
  out->reserve(out->size() + 2 * bytes.size());
  for (char b : bytes) out->append(alphabet.CharFor(static_cast<unsigned char>(b)));
}

std::string ReplaceAll(std::string_view text, std::string_view pattern, std::string_view with) {
  if (pattern.empty()) return std::string(text);
  std::string out;
  size_t from = 0;
  for (size_t at = text.find(pattern); at != std::string_view::npos; at = text.find(pattern, from)) {
    out.append(text.substr(from, at - from));
    out.append(with);
    from = at + pattern.size();
  }
  out.append(text.substr(from));
  return out;
}

}  // namespace star::tokenizer_internal
