#ifndef STAR_MODEL_TOKENIZER_UNICODE_H_
#define STAR_MODEL_TOKENIZER_UNICODE_H_

// UTF-8, Unicode whitespace, lossy UTF-8 decoding and GPT-2's byte-level alphabet: the text
// primitives of the tokenizer.
// Internal to the Tokenizer (model/tokenizer.h); tokenizers' behaviour is the reference.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "model/unicode_normalization.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace star::tokenizer_internal {

using Json = nlohmann::json;

// absl::string_view is not std::string_view in this abseil build.
absl::string_view Sv(std::string_view s);

// Ids index dense tables, so ids beyond this are refused at load time.
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

// The BPE cache remembers pieces shorter than this, up to kBpeCacheCapacity of them (the
// limits tokenizers uses).
constexpr size_t kMaxCachedPieceBytes = 256;

constexpr size_t kBpeCacheCapacity = 10000;

// Heterogeneous lookup: maps keyed by std::string are searched with std::string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

// ---------------------------------------------------------------------------------------------
// UTF-8
size_t Utf8SequenceLength(unsigned char lead);

// The byte length of the character at `pos`, clipped to the text.
size_t CharLengthAt(std::string_view text, size_t pos);

char32_t CodePointAt(std::string_view text, size_t pos, size_t length);

// Unicode's White_Space property: what Rust's char::is_whitespace and regex `\s` accept, and
// the same set as Oniguruma's Unicode `\s`.
bool IsUnicodeWhitespace(char32_t c);

// Where the run of whitespace that ends `text` begins (text.size() if there is none).
size_t TrailingWhitespaceStart(std::string_view text);

// The byte length of the run of whitespace that starts `text`.
size_t LeadingWhitespaceLength(std::string_view text);

// Rust's String::from_utf8_lossy: each maximal prefix of a valid sequence that is cut short
// (or a byte that cannot start one) becomes one U+FFFD.
std::string LossyUtf8(std::string_view bytes);

// `text` with every occurrence of `pattern` (not empty) replaced by `with`, left to right.
std::string ReplaceAll(std::string_view text, std::string_view pattern, std::string_view with);

// ---------------------------------------------------------------------------------------------
// GPT-2's byte-level alphabet: every byte stands for one printable character.
class ByteLevelAlphabet {
 public:
  static const ByteLevelAlphabet& Get() {
    static const ByteLevelAlphabet* const alphabet = new ByteLevelAlphabet();
    return *alphabet;
  }

  // The UTF-8 text of the character that stands for `byte`.
  std::string_view CharFor(unsigned char byte) const {
    return std::string_view(chars_[byte].data(), lengths_[byte]);
  }
  // The byte that code point `c` stands for, or -1 if it stands for none.
  int ByteFor(char32_t c) const { return c < bytes_.size() ? bytes_[c] : -1; }

 private:
  ByteLevelAlphabet() {
    bytes_.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t c = printable ? static_cast<char32_t>(b) : next++;
      std::string utf8;
      AppendUtf8(c, &utf8);
      std::copy(utf8.begin(), utf8.end(), chars_[b].begin());
      lengths_[b] = static_cast<uint8_t>(utf8.size());
      bytes_[c] = static_cast<int16_t>(b);
    }
  }

  std::array<std::array<char, 2>, 256> chars_{};
  std::array<uint8_t, 256> lengths_{};
  std::array<int16_t, 324> bytes_{};  // the stand-ins are U+0021..U+0143
};

void AppendByteLevelChars(std::string_view bytes, std::string* out);

}  // namespace star::tokenizer_internal

#endif  // STAR_MODEL_TOKENIZER_UNICODE_H_
