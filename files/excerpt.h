#ifndef STAR_FILES_EXCERPT_H_
#define STAR_FILES_EXCERPT_H_

// The one rule for quoting bytes of a file (or of a request) in an error message.
//
// A file that fails to parse may not be the file the user meant at all (a path that names
// /proc/self/environ, a key file, a binary): its bytes must not travel into logs and replies.
// An error quotes at most kMaxExcerptBytes bytes of the line the user is meant to fix, with
// every byte outside printable ASCII (and the backslash) written as a C escape, and
// "..." when it was cut. Nothing else of the file is ever quoted.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace star {

inline constexpr size_t kMaxExcerptBytes = 40;

// `text` escaped and cut as above, without surrounding quotes.
std::string Excerpt(std::string_view text, size_t max_bytes = kMaxExcerptBytes);
// The same for the other string types (absl::string_view is not std::string_view here).
inline std::string Excerpt(absl::string_view text, size_t max_bytes = kMaxExcerptBytes) {
  return Excerpt(std::string_view(text.data(), text.size()), max_bytes);
}
inline std::string Excerpt(const std::string& text, size_t max_bytes = kMaxExcerptBytes) {
  return Excerpt(std::string_view(text), max_bytes);
}
inline std::string Excerpt(const char* text, size_t max_bytes = kMaxExcerptBytes) {
  return Excerpt(std::string_view(text), max_bytes);
}

// A parser's own message made safe to show: what it quotes between single quotes (the way JSON
// parsers quote what they last read) becomes Excerpt() of it; the rest is kept, escaped.
std::string SafeParserMessage(std::string_view message);
inline std::string SafeParserMessage(const char* message) {
  return SafeParserMessage(std::string_view(message));
}

}  // namespace star

#endif  // STAR_FILES_EXCERPT_H_
