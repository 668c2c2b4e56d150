#include "files/excerpt.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace star {

std::string Excerpt(std::string_view text, size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  std::string out;
  for (const char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += absl::StrFormat("\\x%02x", byte);
    } else {
      out += c;
    }
  }
  if (cut) out += "...";
  return out;
}

std::string SafeParserMessage(std::string_view message) {
  // The parser's own words are kept (cut to a sane length); what it quotes, between the first
  // and the last single quote, is file content.
  const size_t open = message.find('\'');
  const size_t close = message.rfind('\'');
  if (open == std::string_view::npos || close == open) return Excerpt(message, 200);
  return absl::StrCat(Excerpt(message.substr(0, open), 200), "'",
                      Excerpt(message.substr(open + 1, close - open - 1)), "'",
                      Excerpt(message.substr(close + 1), 200));
}

}  // namespace star
