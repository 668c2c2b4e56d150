#include "model/tokenizer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <functional>
#include <queue>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "files/bounded_read.h"
#include "files/excerpt.h"
#include "model/tokenizer_normalizer.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace star {
namespace {

using Json = nlohmann::json;

// absl::string_view is not std::string_view in this abseil build.
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

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

size_t Utf8SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;  // a stray continuation byte or an invalid lead: step over it alone
}

// The byte length of the character at `pos`, clipped to the text.
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

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Unicode's White_Space property: what Rust's char::is_whitespace and regex `\s` accept, and
// the same set as Oniguruma's Unicode `\s`.
bool IsUnicodeWhitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Where the run of whitespace that ends `text` begins (text.size() if there is none).
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

// The byte length of the run of whitespace that starts `text`.
size_t LeadingWhitespaceLength(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = CharLengthAt(text, pos);
    if (!IsUnicodeWhitespace(CodePointAt(text, pos, length))) break;
    pos += length;
  }
  return pos;
}

// Rust's String::from_utf8_lossy: each maximal prefix of a valid sequence that is cut short
// (or a byte that cannot start one) becomes one U+FFFD.
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

void AppendByteLevelChars(std::string_view bytes, std::string* out) {
  const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::Get();
  out->reserve(out->size() + 2 * bytes.size());
  for (char b : bytes) out->append(alphabet.CharFor(static_cast<unsigned char>(b)));
}

// ---------------------------------------------------------------------------------------------
// Oniguruma patterns on RE2

// Oniguruma's Unicode `\s` as an RE2 class body (RE2's own `\s` is ASCII-only).
constexpr std::string_view kWhitespaceClassBody =
    "\\t-\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";

// The code points Unicode 15.1 and 16.0 added to each general category. tokenizers 0.23's
// Oniguruma has Unicode 16.0 tables and RE2 20220601 Unicode 15.0 ones; these lists are the
// difference, found by running both engines over every code point, and `\p{X}` is widened by
// them so that the two agree. Not emulated: U+1171E moved from Mn to Mc, so `\p{Mn}` (alone)
// still matches it here.
struct CategoryAddition {
  std::string_view category;
  std::string_view ranges;  // an RE2 class body
};
constexpr CategoryAddition kUnicode16Additions[] = {
    {"L",
     "\\x{1C89}-\\x{1C8A}\\x{A7CB}-\\x{A7CD}\\x{A7DA}-\\x{A7DC}\\x{105C0}-\\x{105F3}"
     "\\x{10D4A}-\\x{10D65}\\x{10D6F}-\\x{10D85}\\x{10EC2}-\\x{10EC4}\\x{11380}-\\x{11389}"
     "\\x{1138B}\\x{1138E}\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}\\x{113D3}"
     "\\x{11BC0}-\\x{11BE0}\\x{13460}-\\x{143FA}\\x{16100}-\\x{1611D}\\x{16D40}-\\x{16D6C}"
     "\\x{18CFF}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{2EBF0}-\\x{2EE5D}"},
    {"Lu", "\\x{1C89}\\x{A7CB}-\\x{A7CC}\\x{A7DA}\\x{A7DC}\\x{10D50}-\\x{10D65}"},
    {"Ll", "\\x{1C8A}\\x{A7CD}\\x{A7DB}\\x{10D70}-\\x{10D85}"},
    {"Lm", "\\x{10D4E}\\x{10D6F}\\x{16D40}-\\x{16D42}\\x{16D6B}-\\x{16D6C}"},
    {"Lo",
     "\\x{105C0}-\\x{105F3}\\x{10D4A}-\\x{10D4D}\\x{10D4F}\\x{10EC2}-\\x{10EC4}"
     "\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}"
     "\\x{113D3}\\x{11BC0}-\\x{11BE0}\\x{13460}-\\x{143FA}\\x{16100}-\\x{1611D}"
     "\\x{16D43}-\\x{16D6A}\\x{18CFF}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{2EBF0}-\\x{2EE5D}"},
    {"M",
     "\\x{897}\\x{10D69}-\\x{10D6D}\\x{10EFC}\\x{113B8}-\\x{113C0}\\x{113C2}\\x{113C5}"
     "\\x{113C7}-\\x{113CA}\\x{113CC}-\\x{113D0}\\x{113D2}\\x{113E1}-\\x{113E2}\\x{11F5A}"
     "\\x{1611E}-\\x{1612F}\\x{1E5EE}-\\x{1E5EF}"},
    {"Mn",
     "\\x{897}\\x{10D69}-\\x{10D6D}\\x{10EFC}\\x{113BB}-\\x{113C0}\\x{113CE}\\x{113D0}"
     "\\x{113D2}\\x{113E1}-\\x{113E2}\\x{11F5A}\\x{1611E}-\\x{16129}\\x{1612D}-\\x{1612F}"
     "\\x{1E5EE}-\\x{1E5EF}"},
    {"Mc",
     "\\x{113B8}-\\x{113BA}\\x{113C2}\\x{113C5}\\x{113C7}-\\x{113CA}\\x{113CC}-\\x{113CD}"
     "\\x{113CF}\\x{1171E}\\x{1612A}-\\x{1612C}"},
    {"N",
     "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}\\x{16130}-\\x{16139}"
     "\\x{16D70}-\\x{16D79}\\x{1CCF0}-\\x{1CCF9}\\x{1E5F1}-\\x{1E5FA}"},
    {"Nd",
     "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}\\x{16130}-\\x{16139}"
     "\\x{16D70}-\\x{16D79}\\x{1CCF0}-\\x{1CCF9}\\x{1E5F1}-\\x{1E5FA}"},
    {"P",
     "\\x{1B4E}-\\x{1B4F}\\x{1B7F}\\x{10D6E}\\x{113D4}-\\x{113D5}\\x{113D7}-\\x{113D8}"
     "\\x{11BE1}\\x{16D6D}-\\x{16D6F}\\x{1E5FF}"},
    {"Pd", "\\x{10D6E}"},
    {"Po",
     "\\x{1B4E}-\\x{1B4F}\\x{1B7F}\\x{113D4}-\\x{113D5}\\x{113D7}-\\x{113D8}\\x{11BE1}"
     "\\x{16D6D}-\\x{16D6F}\\x{1E5FF}"},
    {"S",
     "\\x{2427}-\\x{2429}\\x{2FFC}-\\x{2FFF}\\x{31E4}-\\x{31E5}\\x{31EF}"
     "\\x{10D8E}-\\x{10D8F}\\x{1CC00}-\\x{1CCEF}\\x{1CD00}-\\x{1CEB3}\\x{1F8B2}-\\x{1F8BB}"
     "\\x{1F8C0}-\\x{1F8C1}\\x{1FA89}\\x{1FA8F}\\x{1FABE}\\x{1FAC6}\\x{1FADC}\\x{1FADF}"
     "\\x{1FAE9}\\x{1FBCB}-\\x{1FBEF}"},
    {"Sm", "\\x{10D8E}-\\x{10D8F}"},
    {"So",
     "\\x{2427}-\\x{2429}\\x{2FFC}-\\x{2FFF}\\x{31E4}-\\x{31E5}\\x{31EF}"
     "\\x{1CC00}-\\x{1CCEF}\\x{1CD00}-\\x{1CEB3}\\x{1F8B2}-\\x{1F8BB}\\x{1F8C0}-\\x{1F8C1}"
     "\\x{1FA89}\\x{1FA8F}\\x{1FABE}\\x{1FAC6}\\x{1FADC}\\x{1FADF}\\x{1FAE9}"
     "\\x{1FBCB}-\\x{1FBEF}"},
};

std::string_view CategoryAdditions(std::string_view category) {
  for (const CategoryAddition& addition : kUnicode16Additions) {
    if (addition.category == category) return addition.ranges;
  }
  return std::string_view();
}

// `\p{name}` widened to Unicode 16, as a class body (to go inside [...]).
std::string CategoryClassBody(std::string_view name) {
  return absl::StrCat("\\p{", Sv(name), "}", Sv(CategoryAdditions(name)));
}

// `\p{name}` (or with `negated`, `\P{name}`) widened to Unicode 16, as a whole item.
std::string CategoryClass(std::string_view name, bool negated) {
  if (CategoryAdditions(name).empty()) {
    return absl::StrCat(negated ? "\\P{" : "\\p{", Sv(name), "}");
  }
  return absl::StrCat(negated ? "[^" : "[", CategoryClassBody(name), "]");
}

// What Oniguruma's Unicode `\w` holds beyond Letter, Mark, Decimal_Number and
// Connector_Punctuation (some other numbers and circled letters), found like the additions
// above. Oniguruma leaves the Latin-1 ones out of `\w` inside a class: `[\w]` lacks them.
constexpr std::string_view kWordClassLatin1Extras = "\\x{B2}-\\x{B3}\\x{B9}\\x{BC}-\\x{BE}";
constexpr std::string_view kWordClassExtras =
    "\\x{16EE}-\\x{16F0}\\x{2160}-\\x{2182}"
    "\\x{2185}-\\x{2188}\\x{24B6}-\\x{24E9}\\x{3007}\\x{3021}-\\x{3029}"
    "\\x{3038}-\\x{303A}\\x{A6E6}-\\x{A6EF}\\x{10140}-\\x{10174}\\x{10341}\\x{1034A}"
    "\\x{103D1}-\\x{103D5}\\x{12400}-\\x{1246E}\\x{1F130}-\\x{1F149}\\x{1F150}-\\x{1F169}"
    "\\x{1F170}-\\x{1F189}";

// Oniguruma's Unicode `\w` as an RE2 class body, for use outside or inside a class.
std::string WordClassBody(bool in_class) {
  return absl::StrCat(CategoryClassBody("L"), CategoryClassBody("M"), CategoryClassBody("Nd"),
                      CategoryClassBody("Pc"), Sv(kWordClassExtras),
                      in_class ? "" : Sv(kWordClassLatin1Extras));
}

// The lookahead idiom of GPT-2-style patterns, emulated (see RegexSplitter::FindMatches).
constexpr std::string_view kWhitespaceLookaheadIdiom = "\\s+(?!\\S)|\\s+";
// The pattern of the ByteLevel pre-tokenizer with use_regex.
constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Rewrites an Oniguruma pattern (Oniguruma syntax, UTF-8) into RE2 syntax with the same
// matches. Every group becomes non-capturing. Error messages describe the pattern only.
absl::StatusOr<std::string> TranslateOnigurumaBody(std::string_view p) {
  const std::string word_body = WordClassBody(/*in_class=*/false);
  const std::string word_body_in_class = WordClassBody(/*in_class=*/true);
  const std::string whitespace_body(kWhitespaceClassBody);
  std::string out;
  out.reserve(p.size() * 2);
  bool in_class = false;
  size_t i = 0;
  while (i < p.size()) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return absl::InvalidArgumentError("ends with a lone backslash");
      const char e = p[i + 1];
      switch (e) {
        case 's':
        case 'S':
        case 'w':
        case 'W': {
          const bool negated = e == 'S' || e == 'W';
          const std::string& body = e == 's' || e == 'S' ? whitespace_body
                                    : in_class           ? word_body_in_class
                                                         : word_body;
          if (in_class && negated) {
            return absl::UnimplementedError(absl::StrCat(
                "\\", std::string(1, e), " inside a character class is not supported"));
          }
          out += in_class ? body : absl::StrCat(negated ? "[^" : "[", body, "]");
          i += 2;
          continue;
        }
        case 'd':
        case 'D':
        case 'p':
        case 'P': {
          // A general category (or script): \d is Decimal_Number; \p{^X} is \P{X}.
          bool negated = e == 'D' || e == 'P';
          std::string name = "Nd";
          size_t end = i + 2;
          if (e == 'p' || e == 'P') {
            if (i + 2 >= p.size()) return absl::InvalidArgumentError("ends inside a \\p escape");
            if (p[i + 2] != '{') {
              // Oniguruma reads `\pL` as the letters "pL".
              out += e;
              i += 2;
              continue;
            }
            end = p.find('}', i + 2);
            if (end == std::string_view::npos) {
              return absl::InvalidArgumentError("has an unterminated \\p{...}");
            }
            name = std::string(p.substr(i + 3, end - i - 3));
            ++end;
            if (name.starts_with("^")) {
              negated = !negated;
              name.erase(0, 1);
            }
          }
          if (!in_class) {
            out += CategoryClass(name, negated);
          } else if (negated) {
            // RE2 has no class subtraction, so a negated category inside a class keeps
            // RE2's (Unicode 15.0) extent.
            absl::StrAppend(&out, "\\P{", name, "}");
          } else {
            out += CategoryClassBody(name);
          }
          i = end;
          continue;
        }
        case 'u': {
          if (i + 6 > p.size() || !IsHexDigit(p[i + 2]) || !IsHexDigit(p[i + 3]) ||
              !IsHexDigit(p[i + 4]) || !IsHexDigit(p[i + 5])) {
            return absl::InvalidArgumentError("has a \\u escape without four hex digits");
          }
          absl::StrAppend(&out, "\\x{", Sv(p.substr(i + 2, 4)), "}");
          i += 6;
          continue;
        }
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'R':
        case 'X':
        case 'N':
        case 'O':
        case 'K':
        case 'G':
        case 'Z':
        case 'y':
        case 'Y':
        case 'k':
        case 'g':
          return absl::UnimplementedError(
              absl::StrCat("the escape \\", std::string(1, e), " is not supported"));
        default:
          if (e >= '1' && e <= '9') {
            return absl::UnimplementedError("backreferences are not supported");
          }
          out += '\\';
          const size_t length = CharLengthAt(p, i + 1);
          out.append(p.substr(i + 1, length));
          i += 1 + length;
          continue;
      }
    }
    if (in_class) {
      if (c == '[') {
        return absl::UnimplementedError(
            "nested character classes (including [[:alpha:]]) are not supported");
      }
      if (c == '&' && i + 1 < p.size() && p[i + 1] == '&') {
        return absl::UnimplementedError("character class intersection (&&) is not supported");
      }
      if (c == ']') in_class = false;
      out += c;
      ++i;
      continue;
    }
    switch (c) {
      case '[':
        in_class = true;
        out += '[';
        ++i;
        if (i < p.size() && p[i] == '^') {
          out += '^';
          ++i;
        }
        if (i < p.size() && p[i] == ']') {  // a leading ']' is literal
          out += "\\]";
          ++i;
        }
        continue;
      case '^':
        out += "(?m:^)";  // Oniguruma's anchors always work per line
        ++i;
        continue;
      case '$':
        out += "(?m:$)";
        ++i;
        continue;
      case '(':
        break;
      default:
        out += c;
        ++i;
        continue;
    }
    // A group.
    if (i + 1 >= p.size() || p[i + 1] != '?') {
      out += "(?:";
      ++i;
      continue;
    }
    const std::string_view rest = p.substr(i + 2);
    if (rest.starts_with("=") || rest.starts_with("!")) {
      return absl::UnimplementedError(
          absl::StrCat("lookahead (?", Sv(rest.substr(0, 1)),
                       " is not supported (only a trailing \\s+(?!\\S)|\\s+)"));
    }
    if (rest.starts_with("<=") || rest.starts_with("<!")) {
      return absl::UnimplementedError("lookbehind is not supported");
    }
    if (rest.starts_with(">")) {
      return absl::UnimplementedError("atomic groups (?> are not supported");
    }
    if (rest.starts_with("#")) {
      const size_t end = p.find(')', i);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError("has an unterminated comment");
      }
      i = end + 1;
      continue;
    }
    if (rest.starts_with("<") || rest.starts_with("'") || rest.starts_with("P<")) {
      const char close = rest[0] == '\'' ? '\'' : '>';
      const size_t end = p.find(close, i + 3);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError("has an unterminated group name");
      }
      out += "(?:";
      i = end + 1;
      continue;
    }
    // Option letters, e.g. (?i) or (?i:...). Oniguruma's `m` is RE2's `s` (dot matches \n).
    size_t j = i + 2;
    std::string flags;
    while (j < p.size() && (std::isalpha(static_cast<unsigned char>(p[j])) || p[j] == '-')) {
      const char flag = p[j];
      if (flag == 'i' || flag == '-') {
        flags += flag;
      } else if (flag == 'm') {
        flags += 's';
      } else {
        return absl::UnimplementedError(
            absl::StrCat("the option (?", std::string(1, flag), ") is not supported"));
      }
      ++j;
    }
    if (j >= p.size() || (p[j] != ':' && p[j] != ')')) {
      return absl::InvalidArgumentError("has a malformed (? group");
    }
    absl::StrAppend(&out, "(?", flags, std::string(1, p[j]));
    i = j + 1;
  }
  if (in_class) return absl::InvalidArgumentError("has an unterminated character class");
  return out;
}

// Finds the matches of a pattern in pieces of text, like the onig crate's find_iter.
class RegexSplitter {
 public:
  // A splitter for an Oniguruma pattern. kUnimplemented for constructs RE2 cannot express,
  // kInvalidArgument when the pattern does not compile.
  static absl::StatusOr<std::unique_ptr<RegexSplitter>> FromOniguruma(std::string_view pattern) {
    std::string_view body = pattern;
    bool whitespace_lookahead = false;
    if (body == kWhitespaceLookaheadIdiom) {
      body = std::string_view();
      whitespace_lookahead = true;
    } else if (body.size() > kWhitespaceLookaheadIdiom.size() &&
               body.ends_with(kWhitespaceLookaheadIdiom) &&
               body[body.size() - kWhitespaceLookaheadIdiom.size() - 1] == '|') {
      body = body.substr(0, body.size() - kWhitespaceLookaheadIdiom.size() - 1);
      whitespace_lookahead = true;
    }
    absl::StatusOr<std::string> translated = TranslateOnigurumaBody(body);
    if (!translated.ok()) return translated.status();
    std::string re2_pattern = *std::move(translated);
    if (whitespace_lookahead) {
      // The only capturing group: set when the emulated alternative matched.
      absl::StrAppend(&re2_pattern, body.empty() ? "" : "|", "([", Sv(kWhitespaceClassBody), "]+)");
    }
    return Compile(re2_pattern, whitespace_lookahead);
  }

  // A splitter that finds `literal` (tokenizers' SplitPattern::String).
  static absl::StatusOr<std::unique_ptr<RegexSplitter>> FromLiteral(std::string_view literal) {
    return Compile(RE2::QuoteMeta(re2::StringPiece(literal.data(), literal.size())), false);
  }

  // Appends the [begin, end) of each match in `text`, in order. Like onig's find_iter, an
  // empty match right where the previous match ended is skipped.
  void FindMatches(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const {
    const re2::StringPiece input(text.data(), text.size());
    size_t search_from = 0;
    bool have_last_end = false;
    size_t last_end = 0;
    while (search_from <= text.size()) {
      // Pre-tokenizer patterns nearly always match right where the last match ended; an
      // anchored attempt is cheaper than a search and finds the same leftmost match. Asking
      // for no groups keeps RE2 on its DFA.
      re2::StringPiece match;
      if (!re_->Match(input, search_from, text.size(), RE2::ANCHOR_START, &match, 1) &&
          !re_->Match(input, search_from, text.size(), RE2::UNANCHORED, &match, 1)) {
        break;
      }
      const size_t begin = static_cast<size_t>(match.data() - text.data());
      size_t end = begin + match.size();
      if (whitespace_lookahead_ && end < text.size()) {
        // `\s+(?!\S)` backtracks one character off a run that a non-space follows (and fails
        // on a one-character run, where `\s+` then takes that character).
        size_t last = end - 1;
        while (last > begin && (static_cast<unsigned char>(text[last]) & 0xC0) == 0x80) --last;
        if (last > begin && LookaheadGroupMatched(input, begin, end)) end = last;
      }
      if (begin == end && have_last_end && last_end == end) {
        search_from += search_from < text.size() ? CharLengthAt(text, search_from) : 1;
        continue;
      }
      search_from = end;
      have_last_end = true;
      last_end = end;
      matches->emplace_back(begin, end);
    }
  }

 private:
  RegexSplitter(std::unique_ptr<RE2> re, bool whitespace_lookahead)
      : re_(std::move(re)), whitespace_lookahead_(whitespace_lookahead) {}

  static absl::StatusOr<std::unique_ptr<RegexSplitter>> Compile(const std::string& re2_pattern,
                                                                bool whitespace_lookahead) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(int64_t{64} << 20);
    auto re = std::make_unique<RE2>(re2_pattern, options);
    if (!re->ok()) {
      return absl::InvalidArgumentError(absl::StrCat("does not compile: ", re->error()));
    }
    return std::unique_ptr<RegexSplitter>(new RegexSplitter(std::move(re), whitespace_lookahead));
  }

  // Whether the match text[begin, end) is the emulated `(\s+)` alternative's. Only a run of
  // whitespace can be; the highest-priority match of exactly that span is the one found.
  bool LookaheadGroupMatched(const re2::StringPiece& input, size_t begin, size_t end) const {
    const std::string_view span(input.data() + begin, end - begin);
    for (size_t pos = 0; pos < span.size();) {
      const size_t length = CharLengthAt(span, pos);
      if (!IsUnicodeWhitespace(CodePointAt(span, pos, length))) return false;
      pos += length;
    }
    re2::StringPiece groups[2];
    return re_->Match(input, begin, end, RE2::ANCHOR_BOTH, groups, 2) &&
           groups[1].data() != nullptr;
  }

  std::unique_ptr<RE2> re_;
  // The pattern ended in `\s+(?!\S)|\s+`, compiled as the capturing group `(\s+)`.
  bool whitespace_lookahead_;
};

// ---------------------------------------------------------------------------------------------
// Pre-tokenizers

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel, kMetaspace };
  Kind kind = Kind::kSplit;
  // kSplit's pattern; kByteLevel's GPT-2 pattern when use_regex, else null.
  std::unique_ptr<RegexSplitter> splitter;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  bool add_prefix_space = false;  // kByteLevel
  // kMetaspace: spaces become `replacement` ("▁"), which is prepended to every piece
  // (prepend_scheme "always"), only to the input's first ("first") or to none ("never"); with
  // `metaspace_split`, pieces are then split before each replacement. (`splitter` finds it.)
  std::string replacement;
  enum class Prepend { kAlways, kFirst, kNever };
  Prepend prepend = Prepend::kAlways;
  bool metaspace_split = true;
};

// The [begin, end) ranges that NormalizedString::split(pattern, behavior) keeps of `piece`,
// without the empty ones (PreTokenizedString drops those).
void SplitRanges(std::string_view piece, const RegexSplitter& splitter, SplitBehavior behavior,
                 bool invert, std::vector<std::pair<size_t, size_t>>* kept) {
  struct Part {
    size_t begin;
    size_t end;
    bool flag;  // first "is a match", after the behavior "is removed"
  };
  std::vector<std::pair<size_t, size_t>> matches;
  splitter.FindMatches(piece, &matches);
  std::vector<Part> parts;
  parts.reserve(2 * matches.size() + 1);
  size_t previous = 0;
  for (const auto& [begin, end] : matches) {
    if (previous != begin) parts.push_back({previous, begin, false});
    parts.push_back({begin, end, true});
    previous = end;
  }
  if (previous != piece.size()) parts.push_back({previous, piece.size(), false});
  if (invert) {
    for (Part& part : parts) part.flag = !part.flag;
  }

  std::vector<Part> merged;
  merged.reserve(parts.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      merged = std::move(parts);
      break;
    case SplitBehavior::kIsolated:
      for (Part& part : parts) part.flag = false;
      merged = std::move(parts);
      break;
    case SplitBehavior::kContiguous:
      for (const Part& part : parts) {
        if (part.flag == previous_match && !merged.empty()) {
          merged.back().end = part.end;
        } else {
          merged.push_back({part.begin, part.end, false});
        }
        previous_match = part.flag;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Part& part : parts) {
        if (part.flag && !previous_match && !merged.empty()) {
          merged.back().end = part.end;
        } else {
          merged.push_back({part.begin, part.end, false});
        }
        previous_match = part.flag;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->flag && !previous_match && !merged.empty()) {
          merged.back().begin = it->begin;
        } else {
          merged.push_back({it->begin, it->end, false});
        }
        previous_match = it->flag;
      }
      std::reverse(merged.begin(), merged.end());
      break;
  }
  for (const Part& part : merged) {
    if (!part.flag && part.end > part.begin) kept->emplace_back(part.begin, part.end);
  }
}

// Applies one step to `piece` and appends the resulting non-empty pieces to `out`. `at_start`:
// the piece begins at the start of the input (Metaspace's "first" scheme prepends only there).
void ApplyPreTokenizerStep(const PreTokenizerStep& step, std::string_view piece, bool at_start,
                           std::vector<std::string>* out) {
  std::vector<std::pair<size_t, size_t>> ranges;
  if (step.kind == PreTokenizerStep::Kind::kMetaspace) {
    std::string replaced;
    for (char c : piece) {
      if (c == ' ') {
        replaced += step.replacement;
      } else {
        replaced.push_back(c);
      }
    }
    const bool prepend = step.prepend == PreTokenizerStep::Prepend::kAlways ||
                         (step.prepend == PreTokenizerStep::Prepend::kFirst && at_start);
    if (prepend && !replaced.starts_with(step.replacement)) replaced.insert(0, step.replacement);
    if (!step.metaspace_split) {
      if (!replaced.empty()) out->push_back(std::move(replaced));
      return;
    }
    SplitRanges(replaced, *step.splitter, SplitBehavior::kMergedWithNext, false, &ranges);
    for (const auto& [begin, end] : ranges) out->emplace_back(replaced.substr(begin, end - begin));
    return;
  }
  if (step.kind == PreTokenizerStep::Kind::kSplit) {
    SplitRanges(piece, *step.splitter, step.behavior, step.invert, &ranges);
    for (const auto& [begin, end] : ranges) out->emplace_back(piece.substr(begin, end - begin));
    return;
  }
  std::string prefixed;
  if (step.add_prefix_space && !piece.starts_with(' ')) {
    prefixed = absl::StrCat(" ", Sv(piece));
    piece = prefixed;
  }
  if (step.splitter == nullptr) {
    ranges.emplace_back(0, piece.size());
  } else {
    SplitRanges(piece, *step.splitter, SplitBehavior::kIsolated, false, &ranges);
  }
  for (const auto& [begin, end] : ranges) {
    out->emplace_back();
    AppendByteLevelChars(piece.substr(begin, end - begin), &out->back());
  }
}

// ---------------------------------------------------------------------------------------------
// The BPE model

struct MergeRule {
  uint32_t rank;
  int32_t new_id;
};

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// What model.* of tokenizer.json says.
struct BpeVocabulary {
  StringMap<int32_t> vocab;
  std::unordered_map<uint64_t, MergeRule> merges;  // by PairKey(left id, right id)
  std::optional<int32_t> unk_id;
  bool fuse_unk = false;
  bool ignore_merges = false;
  // A character not in the vocab becomes the tokens of its bytes ("<0xE4>", ...) when they
  // all are in it, before unk_token is considered.
  bool byte_fallback = false;
};

class BpeModel {
 public:
  explicit BpeModel(BpeVocabulary vocabulary) : vocabulary_(std::move(vocabulary)) {}

  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  const BpeVocabulary& vocabulary() const { return vocabulary_; }

  // Appends the ids of one pre-token (tokenizers' BPE::tokenize).
  void Tokenize(std::string_view piece, std::vector<int32_t>* ids) const {
    if (piece.empty()) return;
    if (vocabulary_.ignore_merges) {
      auto it = vocabulary_.vocab.find(piece);
      if (it != vocabulary_.vocab.end()) {
        ids->push_back(it->second);
        return;
      }
    }
    const bool cacheable = piece.size() < kMaxCachedPieceBytes;
    if (cacheable) {
      absl::ReaderMutexLock lock(&cache_mu_);
      auto it = cache_.find(piece);
      if (it != cache_.end()) {
        ids->insert(ids->end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const size_t first = ids->size();
    MergeWord(piece, ids);
    if (cacheable) {
      absl::MutexLock lock(&cache_mu_);
      if (cache_.size() < kBpeCacheCapacity) {
        cache_.try_emplace(std::string(piece), ids->begin() + first, ids->end());
      }
    }
  }

 private:
  // BPE::merge_word and Word::merge_all: characters to ids, then merges by lowest rank (the
  // leftmost among equal ranks) until none applies.
  void MergeWord(std::string_view word, std::vector<int32_t>* ids) const {
    struct Symbol {
      int32_t id;
      int32_t prev;
      int32_t next;
      uint32_t length;  // 0 once merged into its left neighbour
    };
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    auto add = [&symbols](int32_t id, uint32_t length) {
      const int32_t index = static_cast<int32_t>(symbols.size());
      if (index > 0) symbols.back().next = index;
      symbols.push_back({id, index - 1, -1, length});
    };
    // An unknown character becomes unk_token (one per run with fuse_unk), or vanishes
    // without one.
    bool unk_pending = false;
    uint32_t unk_length = 0;
    for (size_t pos = 0; pos < word.size();) {
      const size_t length = CharLengthAt(word, pos);
      auto it = vocabulary_.vocab.find(word.substr(pos, length));
      if (it != vocabulary_.vocab.end()) {
        if (unk_pending) add(*vocabulary_.unk_id, unk_length);
        unk_pending = false;
        add(it->second, static_cast<uint32_t>(length));
      } else if (std::vector<int32_t> bytes; vocabulary_.byte_fallback && ByteTokens(word.substr(pos, length), &bytes)) {
        // As tokenizers does, a pending unknown run is not ended by byte tokens: it is added
        // after them.
        for (int32_t id : bytes) add(id, 1);
      } else if (vocabulary_.unk_id.has_value()) {
        if (unk_pending && vocabulary_.fuse_unk) {
          unk_length += static_cast<uint32_t>(length);
        } else {
          if (unk_pending) add(*vocabulary_.unk_id, unk_length);
          unk_pending = true;
          unk_length = static_cast<uint32_t>(length);
        }
      }
      pos += length;
    }
    if (unk_pending) add(*vocabulary_.unk_id, unk_length);

    auto find_merge = [this](int32_t left, int32_t right) -> const MergeRule* {
      auto it = vocabulary_.merges.find(PairKey(left, right));
      return it == vocabulary_.merges.end() ? nullptr : &it->second;
    };
    struct Candidate {
      uint32_t rank;
      int32_t pos;
      int32_t new_id;
    };
    auto later = [](const Candidate& a, const Candidate& b) {
      return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    };
    std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(later);
    const int32_t size = static_cast<int32_t>(symbols.size());
    for (int32_t i = 0; i + 1 < size; ++i) {
      if (const MergeRule* rule = find_merge(symbols[i].id, symbols[i + 1].id)) {
        queue.push({rule->rank, i, rule->new_id});
      }
    }
    while (!queue.empty()) {
      const Candidate top = queue.top();
      queue.pop();
      Symbol& current = symbols[top.pos];
      if (current.length == 0 || current.next == -1) continue;
      const Symbol right = symbols[current.next];
      const MergeRule* rule = find_merge(current.id, right.id);
      if (rule == nullptr || rule->new_id != top.new_id) continue;  // a stale candidate
      symbols[current.next].length = 0;
      current.id = top.new_id;
      current.length += right.length;
      current.next = right.next;
      if (right.next >= 0 && right.next < size) symbols[right.next].prev = top.pos;
      if (current.prev >= 0) {
        if (const MergeRule* r = find_merge(symbols[current.prev].id, current.id)) {
          queue.push({r->rank, current.prev, r->new_id});
        }
      }
      if (current.next >= 0 && current.next < size) {
        if (const MergeRule* r = find_merge(current.id, symbols[current.next].id)) {
          queue.push({r->rank, top.pos, r->new_id});
        }
      }
    }
    for (const Symbol& symbol : symbols) {
      if (symbol.length != 0) ids->push_back(symbol.id);
    }
  }

  // The ids of the byte tokens ("<0x0A>") of `character`'s bytes; false when one is missing.
  bool ByteTokens(std::string_view character, std::vector<int32_t>* ids) const {
    for (unsigned char byte : character) {
      auto it = vocabulary_.vocab.find(absl::StrFormat("<0x%02X>", byte));
      if (it == vocabulary_.vocab.end()) return false;
      ids->push_back(it->second);
    }
    return true;
  }

  const BpeVocabulary vocabulary_;
  mutable absl::Mutex cache_mu_;
  mutable StringMap<std::vector<int32_t>> cache_ ABSL_GUARDED_BY(cache_mu_);
};

// ---------------------------------------------------------------------------------------------
// Added tokens

// Finds added tokens in text: the leftmost match, and the longest among those starting there
// (aho-corasick's LeftmostLongest, as tokenizers uses it).
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() { root_children_.fill(-1); }

  AddedTokenMatcher(const AddedTokenMatcher&) = delete;
  AddedTokenMatcher& operator=(const AddedTokenMatcher&) = delete;

  // `content` is not empty; `token_index` is returned by FindNext.
  void Add(std::string_view content, int32_t token_index) {
    int32_t node = -1;
    for (char c : content) {
      const unsigned char byte = static_cast<unsigned char>(c);
      int32_t child = node < 0 ? root_children_[byte] : Child(node, byte);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        if (node < 0) {
          root_children_[byte] = child;
        } else {
          nodes_[node].children.emplace_back(byte, child);
        }
      }
      node = child;
    }
    nodes_[node].token_index = token_index;
  }

  bool empty() const { return nodes_.empty(); }

  // The first match starting at or after `from`.
  bool FindNext(std::string_view text, size_t from, size_t* begin, size_t* end,
                int32_t* token_index) const {
    for (size_t start = from; start < text.size(); ++start) {
      int32_t node = root_children_[static_cast<unsigned char>(text[start])];
      int32_t best = -1;
      size_t best_end = 0;
      size_t pos = start + 1;
      while (node >= 0) {
        if (nodes_[node].token_index >= 0) {
          best = nodes_[node].token_index;
          best_end = pos;
        }
        if (pos == text.size()) break;
        node = Child(node, static_cast<unsigned char>(text[pos++]));
      }
      if (best >= 0) {
        *begin = start;
        *end = best_end;
        *token_index = best;
        return true;
      }
    }
    return false;
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t token_index = -1;
  };

  int32_t Child(int32_t node, unsigned char byte) const {
    for (const auto& [b, child] : nodes_[node].children) {
      if (b == byte) return child;
    }
    return -1;
  }

  std::array<int32_t, 256> root_children_;
  std::vector<Node> nodes_;  // below the root
};

// A stretch of the input: an added token (id >= 0) or text for the pre-tokenizer (id < 0).
struct Segment {
  size_t begin;
  size_t end;
  int32_t id;
};

// AddedVocabulary::find_matches: splits `text` (which starts at `offset` of the input) around
// the added tokens `matcher` finds, applying their lstrip/rstrip.
void SplitOnAddedTokens(std::string_view text, size_t offset, const AddedTokenMatcher& matcher,
                        const std::vector<AddedToken>& tokens, std::vector<Segment>* out) {
  if (text.empty()) return;
  size_t start_offset = 0;
  size_t search_from = 0;
  size_t begin = 0;
  size_t end = 0;
  int32_t index = 0;
  while (matcher.FindNext(text, search_from, &begin, &end, &index)) {
    search_from = end;
    const AddedToken& token = tokens[index];
    size_t start = begin;
    size_t stop = end;
    if (token.lstrip) {
      start = std::max(TrailingWhitespaceStart(text.substr(0, start)), start_offset);
    }
    if (token.rstrip) stop += LeadingWhitespaceLength(text.substr(stop));
    if (start_offset < start) out->push_back({offset + start_offset, offset + start, -1});
    out->push_back({offset + start, offset + stop, token.id});
    start_offset = stop;
  }
  if (start_offset != text.size())
    out->push_back({offset + start_offset, offset + text.size(), -1});
}

// ---------------------------------------------------------------------------------------------
// Post-processors and decoders

// One piece of TemplateProcessing's `single`: the sequence itself or a special token's ids.
struct TemplatePiece {
  bool is_sequence = false;
  std::vector<int32_t> ids;
};
using Template = std::vector<TemplatePiece>;

struct DecoderStep {
  enum class Kind { kByteLevel, kFuse, kReplace, kByteFallback, kStrip, kMetaspace };
  Kind kind = Kind::kFuse;
  std::string pattern;      // kReplace: the literal replaced; kStrip: the character stripped;
                            // kMetaspace: the replacement character
  std::string content;      // kReplace: what it becomes
  size_t start = 0;         // kStrip: at most this many from the left...
  size_t stop = 0;          // ...and from the right
  bool prepend = true;      // kMetaspace: the first token's leading space is dropped
};

struct DecoderChain {
  bool present = false;  // without a decoder, tokens are joined with spaces
  std::vector<DecoderStep> steps;
};

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(separator);
    out.append(parts[i]);
  }
  return out;
}

// ByteLevel::decode_chain: a token whose characters all stand for bytes gives those bytes,
// any other token its own text; the whole is then read as lossy UTF-8.
std::string DecodeByteLevel(const std::vector<std::string>& tokens) {
  const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::Get();
  std::string bytes;
  for (const std::string& token : tokens) {
    const size_t mark = bytes.size();
    bool all_bytes = true;
    for (size_t pos = 0; pos < token.size();) {
      const size_t length = CharLengthAt(token, pos);
      const int byte = alphabet.ByteFor(CodePointAt(token, pos, length));
      if (byte < 0) {
        all_bytes = false;
        break;
      }
      bytes.push_back(static_cast<char>(byte));
      pos += length;
    }
    if (!all_bytes) {
      bytes.resize(mark);
      bytes.append(token);
    }
  }
  return LossyUtf8(bytes);
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

// ByteFallback::decode_chain: runs of byte tokens ("<0xE4>") become the text their bytes
// spell, or one U+FFFD per byte when they are not valid UTF-8; other tokens stay.
std::vector<std::string> DecodeByteFallback(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string bytes;
  size_t byte_tokens = 0;
  auto flush = [&] {
    if (byte_tokens == 0) return;
    const std::string lossy = LossyUtf8(bytes);
    if (lossy == bytes) {
      out.push_back(bytes);
    } else {
      std::string replacement;
      for (size_t i = 0; i < byte_tokens; ++i) replacement += "\xEF\xBF\xBD";
      out.push_back(std::move(replacement));
    }
    bytes.clear();
    byte_tokens = 0;
  };
  for (const std::string& token : tokens) {
    if (token.size() == 6 && token.starts_with("<0x") && token[5] == '>' && IsHexDigit(token[3]) &&
        IsHexDigit(token[4])) {
      bytes.push_back(static_cast<char>(std::stoi(token.substr(3, 2), nullptr, 16)));
      ++byte_tokens;
      continue;
    }
    flush();
    out.push_back(token);
  }
  flush();
  return out;
}

// One decoder step over the tokens (tokenizers' decode_chain of each decoder).
std::vector<std::string> ApplyDecoderStep(const DecoderStep& step, std::vector<std::string> tokens) {
  switch (step.kind) {
    case DecoderStep::Kind::kByteLevel: return {DecodeByteLevel(tokens)};
    case DecoderStep::Kind::kFuse: return {Join(tokens, "")};
    case DecoderStep::Kind::kByteFallback: return DecodeByteFallback(tokens);
    case DecoderStep::Kind::kReplace:
      for (std::string& token : tokens) token = ReplaceAll(token, step.pattern, step.content);
      return tokens;
    case DecoderStep::Kind::kStrip:
      for (std::string& token : tokens) {
        size_t left = 0;
        while (left < step.start && token.size() >= (left + 1) * step.pattern.size() &&
               token.compare(left * step.pattern.size(), step.pattern.size(), step.pattern) == 0) {
          ++left;
        }
        token.erase(0, left * step.pattern.size());
        size_t right = 0;
        while (right < step.stop && token.size() >= (right + 1) * step.pattern.size() &&
               token.compare(token.size() - (right + 1) * step.pattern.size(), step.pattern.size(),
                             step.pattern) == 0) {
          ++right;
        }
        token.resize(token.size() - right * step.pattern.size());
      }
      return tokens;
    case DecoderStep::Kind::kMetaspace:
      // Every replacement becomes a space, except in the first token when a prefix was
      // prepended: there every one is dropped (tokenizers' Metaspace::decode_chain).
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = ReplaceAll(tokens[i], step.pattern, i == 0 && step.prepend ? "" : " ");
      }
      return tokens;
  }
  return tokens;
}

struct TokenEntry {
  std::string_view text;  // points into BpeVocabulary::vocab or State::added_tokens
  bool assigned = false;
  bool special = false;  // its text is a special added token's
};

// ---------------------------------------------------------------------------------------------
// Reading tokenizer.json

// Reads the parts of a tokenizer.json; every error names the source and the field.
class ConfigReader {
 public:
  explicit ConfigReader(std::string_view source) : source_(source) {}

  // What the file said is quoted only within a bounded, escaped excerpt (files/excerpt.h).
  absl::Status Invalid(std::string_view field, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": ", Excerpt(field, 160), " ", Excerpt(what, 160)));
  }
  absl::Status Unsupported(std::string_view field, std::string_view what) const {
    return absl::UnimplementedError(
        absl::StrCat(source_, ": ", Excerpt(field, 160), " ", Excerpt(what, 160)));
  }

  // The member `key` of `object`, or null when it is missing or JSON null.
  static const Json* Find(const Json& object, const char* key) {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  absl::Status ReadBool(const Json& object, std::string_view path, const char* key, bool fallback,
                        bool* out) const {
    const Json* value = Find(object, key);
    if (value == nullptr) {
      *out = fallback;
      return absl::OkStatus();
    }
    if (!value->is_boolean()) return Invalid(Field(path, key), "must be true or false");
    *out = value->get<bool>();
    return absl::OkStatus();
  }

  absl::Status ReadOptionalString(const Json& object, std::string_view path, const char* key,
                                  std::optional<std::string>* out) const {
    const Json* value = Find(object, key);
    if (value == nullptr) {
      out->reset();
      return absl::OkStatus();
    }
    if (!value->is_string()) return Invalid(Field(path, key), "must be a string or null");
    *out = value->get_ref<const std::string&>();
    return absl::OkStatus();
  }

  // The `type` of a component object at `path`.
  absl::StatusOr<std::string> ReadType(const Json& object, std::string_view path) const {
    if (!object.is_object()) return Invalid(path, "must be an object or null");
    const Json* type = Find(object, "type");
    if (type == nullptr) return Invalid(Field(path, "type"), "is missing");
    if (!type->is_string()) return Invalid(Field(path, "type"), "must be a string");
    return type->get<std::string>();
  }

  static std::string Field(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : absl::StrCat(Sv(path), ".", Sv(key));
  }
  static std::string Index(std::string_view path, size_t i) {
    return absl::StrCat(Sv(path), "[", i, "]");
  }

  absl::Status ReadModel(const Json& model, BpeVocabulary* out) const {
    if (!model.is_object()) return Invalid("model", "must be an object");
    std::string type = "BPE";
    if (const Json* t = Find(model, "type")) {
      if (!t->is_string()) return Invalid("model.type", "must be a string");
      type = t->get<std::string>();
    } else if (Find(model, "merges") == nullptr) {
      return Invalid("model.type", "is missing");
    }
    if (type != "BPE") {
      return Unsupported("model.type", absl::StrCat("\"", type, "\" is not supported (only BPE)"));
    }
    if (const Json* dropout = Find(model, "dropout")) {
      if (!dropout->is_number()) return Invalid("model.dropout", "must be a number or null");
      if (dropout->get<double>() != 0) {
        return Unsupported("model.dropout",
                           "must be null or 0 (BPE dropout is random; this tokenizer is not)");
      }
    }
    absl::Status status = ReadBool(model, "model", "byte_fallback", false, &out->byte_fallback);
    if (!status.ok()) return status;
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      std::optional<std::string> affix;
      if (!(status = ReadOptionalString(model, "model", key, &affix)).ok()) return status;
      if (affix.has_value() && !affix->empty()) {
        return Unsupported(Field("model", key),
                           absl::StrCat("\"", *affix, "\" is not supported (only null)"));
      }
    }
    if (!(status = ReadBool(model, "model", "fuse_unk", false, &out->fuse_unk)).ok()) {
      return status;
    }
    if (!(status = ReadBool(model, "model", "ignore_merges", false, &out->ignore_merges)).ok()) {
      return status;
    }

    const Json* vocab = Find(model, "vocab");
    if (vocab == nullptr) return Invalid("model.vocab", "is missing");
    if (!vocab->is_object()) return Invalid("model.vocab", "must be an object");
    out->vocab.reserve(vocab->size());
    std::unordered_map<int32_t, const std::string*> token_by_id;
    token_by_id.reserve(vocab->size());
    for (auto it = vocab->begin(); it != vocab->end(); ++it) {
      const std::string field = absl::StrCat("model.vocab[\"", it.key(), "\"]");
      if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > kMaxTokenId) {
        return Invalid(field, absl::StrCat("must be an integer id in [0, ", kMaxTokenId, "]"));
      }
      const int32_t id = static_cast<int32_t>(it->get<int64_t>());
      auto [other, inserted] = token_by_id.emplace(id, &it.key());
      if (!inserted) {
        return Invalid(field, absl::StrCat("reuses id ", id, " of \"", *other->second, "\""));
      }
      out->vocab.emplace(it.key(), id);
    }

    std::optional<std::string> unk_token;
    if (!(status = ReadOptionalString(model, "model", "unk_token", &unk_token)).ok()) {
      return status;
    }
    if (unk_token.has_value()) {
      auto it = out->vocab.find(*unk_token);
      if (it == out->vocab.end()) {
        return Invalid("model.unk_token",
                       absl::StrCat("\"", *unk_token, "\" is not in model.vocab"));
      }
      out->unk_id = it->second;
    }

    const Json* merges = Find(model, "merges");
    if (merges == nullptr) return Invalid("model.merges", "is missing");
    if (!merges->is_array()) return Invalid("model.merges", "must be an array");
    out->merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
      const Json& merge = (*merges)[i];
      const std::string field = Index("model.merges", i);
      std::string left;
      std::string right;
      if (merge.is_string()) {
        // tokenizers splits at every space and wants exactly two parts.
        const std::string& text = merge.get_ref<const std::string&>();
        const size_t space = text.find(' ');
        if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
          return Invalid(field,
                         absl::StrCat("\"", text, "\" is not two tokens separated by a space"));
        }
        left = text.substr(0, space);
        right = text.substr(space + 1);
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                 merge[1].is_string()) {
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      } else {
        return Invalid(field, "must be a string \"a b\" or a pair [\"a\", \"b\"]");
      }
      if (i > 0 && merge.is_string() != (*merges)[0].is_string()) {
        return Invalid(field, "mixes the \"a b\" and [\"a\", \"b\"] forms in one list");
      }
      const std::string merged = left + right;
      int32_t ids[3];
      const std::string* names[3] = {&left, &right, &merged};
      for (int k = 0; k < 3; ++k) {
        auto it = out->vocab.find(*names[k]);
        if (it == out->vocab.end()) {
          return Invalid(field, absl::StrCat(k == 2 ? "makes" : "names", " \"", *names[k],
                                             "\", which is not in model.vocab"));
        }
        ids[k] = it->second;
      }
      // As in tokenizers, a repeated pair takes its last rank.
      out->merges.insert_or_assign(PairKey(ids[0], ids[1]),
                                   MergeRule{static_cast<uint32_t>(i), ids[2]});
    }
    return absl::OkStatus();
  }

  // Reads `added_tokens` and assigns ids as AddedVocabulary::add_tokens does.
  absl::Status ReadAddedTokens(const Json& root, const BpeVocabulary& model,
                               std::vector<AddedToken>* out) const {
    const Json* tokens = Find(root, "added_tokens");
    if (tokens == nullptr) return absl::OkStatus();
    if (!tokens->is_array()) return Invalid("added_tokens", "must be an array");
    std::unordered_set<std::string> seen;
    const int64_t model_size = static_cast<int64_t>(model.vocab.size());
    std::optional<int64_t> max_added_id;
    for (size_t i = 0; i < tokens->size(); ++i) {
      const Json& entry = (*tokens)[i];
      const std::string path = Index("added_tokens", i);
      if (!entry.is_object()) return Invalid(path, "must be an object");
      const Json* content = Find(entry, "content");
      if (content == nullptr || !content->is_string()) {
        return Invalid(Field(path, "content"), "must be a string");
      }
      AddedToken token;
      token.content = content->get<std::string>();
      if (token.content.empty()) continue;  // tokenizers ignores these
      absl::Status status = ReadBool(entry, path, "special", false, &token.special);
      if (!status.ok()) return status;
      if (!(status = ReadBool(entry, path, "normalized", !token.special, &token.normalized)).ok()) {
        return status;
      }
      if (!(status = ReadBool(entry, path, "lstrip", false, &token.lstrip)).ok()) return status;
      if (!(status = ReadBool(entry, path, "rstrip", false, &token.rstrip)).ok()) return status;
      bool single_word = false;
      if (!(status = ReadBool(entry, path, "single_word", false, &single_word)).ok()) {
        return status;
      }
      if (single_word) return Unsupported(Field(path, "single_word"), "true is not supported");
      if (const Json* id = Find(entry, "id"); id != nullptr && !id->is_number_integer()) {
        return Invalid(Field(path, "id"), "must be an integer");
      }
      if (!seen.insert(token.content).second) {
        return Invalid(Field(path, "content"),
                       absl::StrCat("\"", token.content, "\" is an added token already"));
      }
      int64_t id;
      auto in_model = model.vocab.find(token.content);
      if (in_model != model.vocab.end()) {
        id = in_model->second;
      } else if (!max_added_id.has_value()) {
        id = model_size;
      } else {
        id = (*max_added_id >= model_size || model_size == 0) ? *max_added_id + 1 : model_size;
      }
      if (id > kMaxTokenId) {
        return Invalid(path, absl::StrCat("would get id ", id, ", beyond the limit ", kMaxTokenId));
      }
      max_added_id = std::max(max_added_id.value_or(id), id);
      token.id = static_cast<int32_t>(id);
      out->push_back(std::move(token));
    }
    return absl::OkStatus();
  }

  absl::Status ReadNormalizer(const Json& value, const std::string& path,
                              std::vector<NormalizerStep>* out) const {
    absl::StatusOr<std::string> type = ReadType(value, path);
    if (!type.ok()) return type.status();
    NormalizerStep step;
    if (*type == "Sequence") {
      const Json* list = Find(value, "normalizers");
      if (list == nullptr || !list->is_array()) return Invalid(Field(path, "normalizers"), "must be an array");
      for (size_t i = 0; i < list->size(); ++i) {
        absl::Status status = ReadNormalizer((*list)[i], Index(Field(path, "normalizers"), i), out);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    }
    // NFKC and NFKD are refused: ICU's compatibility mappings (Unicode 15) and those of the
    // tokenizers library differ on characters real text holds (U+1F16C, for one).
    static const std::pair<const char*, NormalizerStep::Kind> kForms[] = {
        {"NFC", NormalizerStep::Kind::kNfc}, {"NFD", NormalizerStep::Kind::kNfd}};
    for (const auto& [name, kind] : kForms) {
      if (*type == name) {
        step.kind = kind;
        out->push_back(step);
        return absl::OkStatus();
      }
    }
    if (*type == "Prepend") {
      const Json* prepend = Find(value, "prepend");
      if (prepend == nullptr || !prepend->is_string()) return Invalid(Field(path, "prepend"), "must be a string");
      step.kind = NormalizerStep::Kind::kPrepend;
      step.text = prepend->get<std::string>();
      out->push_back(step);
      return absl::OkStatus();
    }
    if (*type == "Replace") {
      step.kind = NormalizerStep::Kind::kReplace;
      if (absl::Status status = ReadReplace(value, path, &step.text, &step.replacement); !status.ok()) {
        return status;
      }
      out->push_back(step);
      return absl::OkStatus();
    }
    return Unsupported(Field(path, "type"),
                       absl::StrCat("\"", *type,
                                    "\" is not supported (only NFC, NFD, Prepend, Replace and "
                                    "Sequence)"));
  }

  absl::Status ReadPreTokenizer(const Json& value, const std::string& path,
                                std::vector<PreTokenizerStep>* out) const {
    absl::StatusOr<std::string> type = ReadType(value, path);
    if (!type.ok()) return type.status();
    if (*type == "Sequence") {
      const Json* list = Find(value, "pretokenizers");
      if (list == nullptr || !list->is_array()) {
        return Invalid(Field(path, "pretokenizers"), "must be an array");
      }
      for (size_t i = 0; i < list->size(); ++i) {
        absl::Status status =
            ReadPreTokenizer((*list)[i], Index(Field(path, "pretokenizers"), i), out);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    }
    PreTokenizerStep step;
    if (*type == "Metaspace") {
      step.kind = PreTokenizerStep::Kind::kMetaspace;
      absl::Status status = ReadMetaspace(value, path, &step.replacement, &step.prepend, &step.metaspace_split);
      if (!status.ok()) return status;
      absl::StatusOr<std::unique_ptr<RegexSplitter>> splitter = RegexSplitter::FromLiteral(step.replacement);
      if (!splitter.ok()) return splitter.status();
      step.splitter = *std::move(splitter);
      out->push_back(std::move(step));
      return absl::OkStatus();
    }
    if (*type == "ByteLevel") {
      step.kind = PreTokenizerStep::Kind::kByteLevel;
      bool use_regex = true;
      absl::Status status = ReadBool(value, path, "add_prefix_space", true, &step.add_prefix_space);
      if (!status.ok()) return status;
      if (!(status = ReadBool(value, path, "use_regex", true, &use_regex)).ok()) return status;
      if (use_regex) {
        absl::StatusOr<std::unique_ptr<RegexSplitter>> splitter =
            RegexSplitter::FromOniguruma(kGpt2Pattern);
        if (!splitter.ok()) return splitter.status();  // cannot happen: the pattern is fixed
        step.splitter = *std::move(splitter);
      }
      out->push_back(std::move(step));
      return absl::OkStatus();
    }
    if (*type != "Split") {
      return Unsupported(
          Field(path, "type"),
          absl::StrCat("\"", *type,
                       "\" is not supported (only ByteLevel, Metaspace, Split and Sequence)"));
    }
    step.kind = PreTokenizerStep::Kind::kSplit;
    const std::string pattern_field = Field(path, "pattern");
    const Json* pattern = Find(value, "pattern");
    if (pattern == nullptr || !pattern->is_object() || pattern->size() != 1 ||
        !pattern->begin()->is_string() ||
        (pattern->begin().key() != "Regex" && pattern->begin().key() != "String")) {
      return Invalid(pattern_field, "must be {\"Regex\": \"...\"} or {\"String\": \"...\"}");
    }
    const std::string& text = pattern->begin()->get_ref<const std::string&>();
    const bool is_regex = pattern->begin().key() == "Regex";
    absl::StatusOr<std::unique_ptr<RegexSplitter>> splitter =
        is_regex ? RegexSplitter::FromOniguruma(text) : RegexSplitter::FromLiteral(text);
    if (!splitter.ok()) {
      return absl::Status(
          splitter.status().code(),
          absl::StrCat(source_, ": ", pattern_field, ".", is_regex ? "Regex" : "String", " /", text,
                       "/ ", splitter.status().message()));
    }
    step.splitter = *std::move(splitter);
    const Json* behavior = Find(value, "behavior");
    static const std::pair<const char*, SplitBehavior> kBehaviors[] = {
        {"Removed", SplitBehavior::kRemoved},
        {"Isolated", SplitBehavior::kIsolated},
        {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
        {"MergedWithNext", SplitBehavior::kMergedWithNext},
        {"Contiguous", SplitBehavior::kContiguous}};
    bool known = false;
    for (const auto& [name, b] : kBehaviors) {
      if (behavior != nullptr && behavior->is_string() &&
          behavior->get_ref<const std::string&>() == name) {
        step.behavior = b;
        known = true;
      }
    }
    if (!known) {
      return Invalid(Field(path, "behavior"),
                     "must be one of Removed, Isolated, MergedWithPrevious, MergedWithNext, "
                     "Contiguous");
    }
    absl::Status status = ReadBool(value, path, "invert", false, &step.invert);
    if (!status.ok()) return status;
    out->push_back(std::move(step));
    return absl::OkStatus();
  }

  absl::Status ReadPostProcessor(const Json& value, const std::string& path,
                                 std::vector<Template>* out) const {
    absl::StatusOr<std::string> type = ReadType(value, path);
    if (!type.ok()) return type.status();
    if (*type == "ByteLevel") return absl::OkStatus();  // it only adjusts offsets
    if (*type == "Sequence") {
      const Json* list = Find(value, "processors");
      if (list == nullptr || !list->is_array()) {
        return Invalid(Field(path, "processors"), "must be an array");
      }
      for (size_t i = 0; i < list->size(); ++i) {
        absl::Status status =
            ReadPostProcessor((*list)[i], Index(Field(path, "processors"), i), out);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    }
    if (*type != "TemplateProcessing") {
      return Unsupported(Field(path, "type"),
                         absl::StrCat("\"", *type,
                                      "\" is not supported (only TemplateProcessing, ByteLevel "
                                      "and Sequence)"));
    }
    const std::string single_field = Field(path, "single");
    const Json* single = Find(value, "single");
    if (single == nullptr || !single->is_array()) return Invalid(single_field, "must be an array");
    const Json* special_tokens = Find(value, "special_tokens");
    if (special_tokens != nullptr && !special_tokens->is_object()) {
      return Invalid(Field(path, "special_tokens"), "must be an object");
    }
    Template result;
    for (size_t i = 0; i < single->size(); ++i) {
      const Json& piece = (*single)[i];
      const std::string field = Index(single_field, i);
      if (!piece.is_object() || piece.size() != 1) {
        return Invalid(field, "must be {\"SpecialToken\": {...}} or {\"Sequence\": {...}}");
      }
      const std::string& kind = piece.begin().key();
      const Json& body = *piece.begin();
      const Json* id = body.is_object() ? Find(body, "id") : nullptr;
      if (id == nullptr || !id->is_string()) {
        return Invalid(absl::StrCat(field, ".", kind, ".id"), "must be a string");
      }
      const std::string& name = id->get_ref<const std::string&>();
      TemplatePiece template_piece;
      if (kind == "Sequence") {
        if (name != "A") {
          return Unsupported(absl::StrCat(field, ".Sequence.id"),
                             absl::StrCat("\"", name, "\" is not supported in `single` (only A)"));
        }
        template_piece.is_sequence = true;
      } else if (kind == "SpecialToken") {
        const Json* entry =
            special_tokens == nullptr ? nullptr : Find(*special_tokens, name.c_str());
        if (entry == nullptr) {
          return Invalid(field, absl::StrCat("names \"", name, "\", which is not in ",
                                             Field(path, "special_tokens")));
        }
        const std::string ids_field =
            absl::StrCat(Field(path, "special_tokens"), "[\"", name, "\"].ids");
        const Json* ids = entry->is_object() ? Find(*entry, "ids") : nullptr;
        if (ids == nullptr || !ids->is_array()) return Invalid(ids_field, "must be an array");
        for (const Json& token_id : *ids) {
          if (!token_id.is_number_integer() || token_id.get<int64_t>() < 0 ||
              token_id.get<int64_t>() > kMaxTokenId) {
            return Invalid(ids_field, absl::StrCat("must hold ids in [0, ", kMaxTokenId, "]"));
          }
          template_piece.ids.push_back(static_cast<int32_t>(token_id.get<int64_t>()));
        }
      } else {
        return Invalid(field, "must be {\"SpecialToken\": {...}} or {\"Sequence\": {...}}");
      }
      result.push_back(std::move(template_piece));
    }
    out->push_back(std::move(result));
    return absl::OkStatus();
  }

  absl::Status ReadDecoder(const Json& value, const std::string& path,
                           std::vector<DecoderStep>* out) const {
    absl::StatusOr<std::string> type = ReadType(value, path);
    if (!type.ok()) return type.status();
    DecoderStep step;
    if (*type == "ByteLevel") {
      step.kind = DecoderStep::Kind::kByteLevel;
      out->push_back(step);
    } else if (*type == "Fuse") {
      out->push_back(step);
    } else if (*type == "ByteFallback") {
      step.kind = DecoderStep::Kind::kByteFallback;
      out->push_back(step);
    } else if (*type == "Replace") {
      step.kind = DecoderStep::Kind::kReplace;
      if (absl::Status status = ReadReplace(value, path, &step.pattern, &step.content); !status.ok()) {
        return status;
      }
      out->push_back(step);
    } else if (*type == "Strip") {
      step.kind = DecoderStep::Kind::kStrip;
      const Json* content = Find(value, "content");
      if (content == nullptr || !content->is_string() || content->get<std::string>().empty()) {
        return Invalid(Field(path, "content"), "must be a character");
      }
      step.pattern = content->get<std::string>();
      for (const auto& [key, target] : {std::pair{"start", &step.start}, std::pair{"stop", &step.stop}}) {
        const Json* n = Find(value, key);
        if (n == nullptr || !n->is_number_unsigned()) return Invalid(Field(path, key), "must be a count");
        *target = n->get<size_t>();
      }
      out->push_back(step);
    } else if (*type == "Metaspace") {
      step.kind = DecoderStep::Kind::kMetaspace;
      PreTokenizerStep::Prepend prepend = PreTokenizerStep::Prepend::kAlways;
      bool split = true;
      if (absl::Status status = ReadMetaspace(value, path, &step.pattern, &prepend, &split); !status.ok()) {
        return status;
      }
      step.prepend = prepend != PreTokenizerStep::Prepend::kNever;
      out->push_back(step);
    } else if (*type == "Sequence") {
      const Json* list = Find(value, "decoders");
      if (list == nullptr || !list->is_array()) {
        return Invalid(Field(path, "decoders"), "must be an array");
      }
      for (size_t i = 0; i < list->size(); ++i) {
        absl::Status status = ReadDecoder((*list)[i], Index(Field(path, "decoders"), i), out);
        if (!status.ok()) return status;
      }
    } else {
      return Unsupported(
          Field(path, "type"),
          absl::StrCat("\"", *type,
                       "\" is not supported (only ByteLevel, ByteFallback, Fuse, Metaspace, "
                       "Replace, Strip and Sequence)"));
    }
    return absl::OkStatus();
  }

  // Replace's literal pattern ({"String": "..."}; a Regex pattern is refused) and content.
  absl::Status ReadReplace(const Json& value, const std::string& path, std::string* pattern,
                           std::string* content) const {
    const Json* p = Find(value, "pattern");
    if (p == nullptr || !p->is_object() || p->size() != 1 || !p->begin()->is_string()) {
      return Invalid(Field(path, "pattern"), "must be {\"String\": \"...\"}");
    }
    if (p->begin().key() != "String") {
      return Unsupported(Field(path, "pattern"), "only a String pattern is supported, not a Regex");
    }
    *pattern = p->begin()->get<std::string>();
    const Json* c = Find(value, "content");
    if (c == nullptr || !c->is_string()) return Invalid(Field(path, "content"), "must be a string");
    *content = c->get<std::string>();
    return absl::OkStatus();
  }

  // Metaspace's replacement, prepend_scheme (or the older add_prefix_space) and split.
  absl::Status ReadMetaspace(const Json& value, const std::string& path, std::string* replacement,
                             PreTokenizerStep::Prepend* prepend, bool* split) const {
    const Json* r = Find(value, "replacement");
    if (r == nullptr || !r->is_string() || r->get<std::string>().empty() ||
        CharLengthAt(r->get_ref<const std::string&>(), 0) != r->get_ref<const std::string&>().size()) {
      return Invalid(Field(path, "replacement"), "must be one character");
    }
    *replacement = r->get<std::string>();
    if (const Json* scheme = Find(value, "prepend_scheme")) {
      const std::string name = scheme->is_string() ? scheme->get<std::string>() : "";
      if (name == "always") {
        *prepend = PreTokenizerStep::Prepend::kAlways;
      } else if (name == "first") {
        *prepend = PreTokenizerStep::Prepend::kFirst;
      } else if (name == "never") {
        *prepend = PreTokenizerStep::Prepend::kNever;
      } else {
        return Invalid(Field(path, "prepend_scheme"), "must be \"always\", \"first\" or \"never\"");
      }
    } else {
      bool add_prefix_space = true;
      if (absl::Status s = ReadBool(value, path, "add_prefix_space", true, &add_prefix_space); !s.ok()) {
        return s;
      }
      *prepend = add_prefix_space ? PreTokenizerStep::Prepend::kAlways : PreTokenizerStep::Prepend::kNever;
    }
    return ReadBool(value, path, "split", true, split);
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Tokenizer::State {
  std::unique_ptr<BpeModel> model;
  std::vector<AddedToken> added_tokens;
  StringMap<int32_t> added_token_index;  // content -> index into added_tokens
  AddedTokenMatcher raw_matcher;         // added tokens with normalized == false
  AddedTokenMatcher normalized_matcher;  // and with normalized == true
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  std::vector<Template> templates;  // applied in order when add_special_tokens
  DecoderChain decoder;
  std::vector<TokenEntry> tokens_by_id;

  // Fills the fields from a parsed tokenizer.json.
  absl::Status Load(const Json& root, const ConfigReader& reader);
};

absl::Status Tokenizer::State::Load(const Json& root, const ConfigReader& reader) {
  for (const char* key : {"truncation", "padding"}) {
    if (ConfigReader::Find(root, key) != nullptr) {
      return reader.Unsupported(key, "must be null (it is not supported)");
    }
  }
  const Json* model_json = ConfigReader::Find(root, "model");
  if (model_json == nullptr) return reader.Invalid("model", "is missing");
  BpeVocabulary vocabulary;
  absl::Status status = reader.ReadModel(*model_json, &vocabulary);
  if (!status.ok()) return status;
  if (!(status = reader.ReadAddedTokens(root, vocabulary, &added_tokens)).ok()) return status;
  model = std::make_unique<BpeModel>(std::move(vocabulary));
  if (const Json* json = ConfigReader::Find(root, "normalizer")) {
    if (!(status = reader.ReadNormalizer(*json, "normalizer", &normalizer)).ok()) return status;
  }
  if (const Json* json = ConfigReader::Find(root, "pre_tokenizer")) {
    if (!(status = reader.ReadPreTokenizer(*json, "pre_tokenizer", &pre_tokenizer)).ok()) {
      return status;
    }
  }
  if (const Json* json = ConfigReader::Find(root, "post_processor")) {
    if (!(status = reader.ReadPostProcessor(*json, "post_processor", &templates)).ok()) {
      return status;
    }
  }
  if (const Json* json = ConfigReader::Find(root, "decoder")) {
    decoder.present = true;
    if (!(status = reader.ReadDecoder(*json, "decoder", &decoder.steps)).ok()) return status;
  }

  // Ids to tokens: added tokens take precedence over the model's vocab, as in tokenizers.
  const StringMap<int32_t>& vocab = model->vocabulary().vocab;
  int32_t max_id = -1;
  for (const auto& [text, id] : vocab) max_id = std::max(max_id, id);
  for (const AddedToken& token : added_tokens) max_id = std::max(max_id, token.id);
  tokens_by_id.resize(static_cast<size_t>(max_id + 1));
  for (const auto& [text, id] : vocab) tokens_by_id[id] = {text, true, false};
  std::unordered_set<std::string_view> special_contents;
  for (size_t i = 0; i < added_tokens.size(); ++i) {
    const AddedToken& token = added_tokens[i];
    tokens_by_id[token.id] = {token.content, true, false};
    added_token_index.emplace(token.content, static_cast<int32_t>(i));
    if (token.special) special_contents.insert(token.content);
    (token.normalized ? normalized_matcher : raw_matcher)
        .Add(token.content, static_cast<int32_t>(i));
  }
  for (TokenEntry& entry : tokens_by_id) {
    entry.special = entry.assigned && special_contents.contains(entry.text);
  }
  return absl::OkStatus();
}

Tokenizer::Tokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

absl::StatusOr<Tokenizer> Tokenizer::FromFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, kMaxTokenizerFileBytes);
  if (!text.ok()) return text.status();
  return FromJson(*text, path);
}

absl::StatusOr<Tokenizer> Tokenizer::FromJson(std::string_view json, std::string_view source_name) {
  const ConfigReader reader(source_name);
  Json root;
  try {
    // nlohmann reports the position of a syntax error only through its exception.
    root = Json::parse(json.begin(), json.end());
  } catch (const Json::exception& e) {  // a syntax error, or a number out of range (406)
    std::string_view what = e.what();
    if (const size_t bracket = what.find("] "); bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(source_name), ": invalid JSON: ", SafeParserMessage(what)));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(source_name), ": is not a JSON object"));
  }
  auto state = std::make_unique<State>();
  absl::Status status;
  try {
    status = state->Load(root, reader);
  } catch (const Json::exception& e) {
    // Every access is type-checked first; this only keeps a missed case from escaping.
    status = absl::InternalError(absl::StrCat(Sv(source_name), ": ", SafeParserMessage(e.what())));
  }
  if (!status.ok()) return status;
  return Tokenizer(std::move(state));
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  const State& state = *state_;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  // Added tokens are split off first: those matched in the raw text, then (in each stretch left,
  // normalized on its own) those matched in the normalized text.
  std::vector<Segment> outer;
  std::vector<Segment> inner;
  std::vector<std::string> pieces;
  std::vector<std::string> next_pieces;
  SplitOnAddedTokens(text, 0, state.raw_matcher, state.added_tokens, &outer);
  for (const Segment& segment : outer) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    inner.clear();
    const std::string_view raw = text.substr(segment.begin, segment.end - segment.begin);
    std::string normalized_storage;
    if (!state.normalizer.empty()) normalized_storage = Normalize(state.normalizer, raw);
    const std::string_view normalized = state.normalizer.empty() ? raw : normalized_storage;
    SplitOnAddedTokens(normalized, 0, state.normalized_matcher, state.added_tokens, &inner);
    for (const Segment& part : inner) {
      if (part.id >= 0) {
        ids.push_back(part.id);
        continue;
      }
      pieces.clear();
      pieces.emplace_back(normalized.substr(part.begin, part.end - part.begin));
      // Whether pieces[0] begins the input, for Metaspace's "first" scheme.
      bool first_at_start = segment.begin == 0 && part.begin == 0;
      for (const PreTokenizerStep& step : state.pre_tokenizer) {
        next_pieces.clear();
        for (size_t k = 0; k < pieces.size(); ++k) {
          ApplyPreTokenizerStep(step, pieces[k], first_at_start && k == 0, &next_pieces);
        }
        pieces.swap(next_pieces);
      }
      for (const std::string& piece : pieces) state.model->Tokenize(piece, &ids);
    }
  }
  if (add_special_tokens) {
    for (const Template& steps : state.templates) {
      std::vector<int32_t> templated;
      templated.reserve(ids.size() + 4);
      for (const TemplatePiece& piece : steps) {
        const std::vector<int32_t>& source = piece.is_sequence ? ids : piece.ids;
        templated.insert(templated.end(), source.begin(), source.end());
      }
      ids.swap(templated);
    }
  }
  return ids;
}

absl::StatusOr<std::string> Tokenizer::Decode(const std::vector<int32_t>& ids,
                                              bool skip_special_tokens) const {
  const State& state = *state_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= state.tokens_by_id.size()) {
      return absl::OutOfRangeError(
          absl::StrCat("token id ", id, " is out of range [0, ", state.tokens_by_id.size(), ")"));
    }
    const TokenEntry& entry = state.tokens_by_id[id];
    if (!entry.assigned) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", id, " is not assigned to any token"));
    }
    if (skip_special_tokens && entry.special) continue;
    tokens.emplace_back(entry.text);
  }
  if (!state.decoder.present) return Join(tokens, " ");
  for (const DecoderStep& step : state.decoder.steps) tokens = ApplyDecoderStep(step, std::move(tokens));
  return Join(tokens, "");
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  if (auto it = state_->added_token_index.find(token); it != state_->added_token_index.end()) {
    return state_->added_tokens[it->second].id;
  }
  const StringMap<int32_t>& vocab = state_->model->vocabulary().vocab;
  if (auto it = vocab.find(token); it != vocab.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> Tokenizer::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= state_->tokens_by_id.size()) return std::nullopt;
  const TokenEntry& entry = state_->tokens_by_id[id];
  if (!entry.assigned) return std::nullopt;
  return std::string(entry.text);
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(state_->tokens_by_id.size()); }

std::optional<int32_t> Tokenizer::SpecialTokenId(std::string_view content) const {
  auto it = state_->added_token_index.find(content);
  if (it == state_->added_token_index.end()) return std::nullopt;
  const AddedToken& token = state_->added_tokens[it->second];
  if (!token.special) return std::nullopt;
  return token.id;
}

bool Tokenizer::IsSpecialToken(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < state_->tokens_by_id.size() &&
         state_->tokens_by_id[id].special;
}

const std::vector<AddedToken>& Tokenizer::added_tokens() const { return state_->added_tokens; }

std::optional<int32_t> Tokenizer::unk_token_id() const {
  return state_->model->vocabulary().unk_id;
}

}  // namespace star
