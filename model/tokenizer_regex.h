#ifndef STAR_MODEL_TOKENIZER_REGEX_H_
#define STAR_MODEL_TOKENIZER_REGEX_H_

// Oniguruma patterns (as tokenizer.json's Split pre-tokenizers write them) translated to RE2
// with the same matches, and the splitter that finds them in text.
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
#include "model/tokenizer_unicode.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace star::tokenizer_internal {

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

std::string_view CategoryAdditions(std::string_view category);

// `\p{name}` widened to Unicode 16, as a class body (to go inside [...]).
std::string CategoryClassBody(std::string_view name);

// `\p{name}` (or with `negated`, `\P{name}`) widened to Unicode 16, as a whole item.
std::string CategoryClass(std::string_view name, bool negated);

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
std::string WordClassBody(bool in_class);

// The lookahead idiom of GPT-2-style patterns, emulated (see RegexSplitter::FindMatches).
constexpr std::string_view kWhitespaceLookaheadIdiom = "\\s+(?!\\S)|\\s+";

// The pattern of the ByteLevel pre-tokenizer with use_regex.
constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

bool IsHexDigit(char c);

// Rewrites an Oniguruma pattern (Oniguruma syntax, UTF-8) into RE2 syntax with the same
// matches. Every group becomes non-capturing. Error messages describe the pattern only.
absl::StatusOr<std::string> TranslateOnigurumaBody(std::string_view p);

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

}  // namespace star::tokenizer_internal

#endif  // STAR_MODEL_TOKENIZER_REGEX_H_
