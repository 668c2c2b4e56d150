#include "model/unicode_normalization.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <vector>

namespace star {
namespace {

// The entries of the generated tables; see scripts/make_unicode_tables.py.
struct CombiningClassEntry {
  char32_t code_point;
  uint8_t combining_class;
};

struct DecompositionEntry {
  char32_t code_point;
  uint16_t start;  // in kDecompositionCodePoints
  uint8_t length;
};

struct CompositionEntry {
  char32_t first;
  char32_t second;
  char32_t composite;
};

#include "model/unicode_normalization_tables.inc"

// Lookups are binary searches, so every table must be strictly increasing in its key.
constexpr bool CombiningClassesSorted() {
  return std::adjacent_find(std::begin(kCombiningClasses), std::end(kCombiningClasses),
                            [](const CombiningClassEntry& a, const CombiningClassEntry& b) {
                              return a.code_point >= b.code_point;
                            }) == std::end(kCombiningClasses);
}

constexpr bool DecompositionsSorted() {
  return std::adjacent_find(std::begin(kDecompositions), std::end(kDecompositions),
                            [](const DecompositionEntry& a, const DecompositionEntry& b) {
                              return a.code_point >= b.code_point;
                            }) == std::end(kDecompositions);
}

constexpr bool CompositionsSorted() {
  return std::adjacent_find(std::begin(kCompositions), std::end(kCompositions),
                            [](const CompositionEntry& a, const CompositionEntry& b) {
                              return a.first > b.first ||
                                     (a.first == b.first && a.second >= b.second);
                            }) == std::end(kCompositions);
}

static_assert(CombiningClassesSorted());
static_assert(DecompositionsSorted());
static_assert(CompositionsSorted());

// Hangul syllables are composed and decomposed arithmetically (The Unicode Standard, 3.12).
constexpr char32_t kHangulSBase = 0xAC00;
constexpr char32_t kHangulLBase = 0x1100;
constexpr char32_t kHangulVBase = 0x1161;
constexpr char32_t kHangulTBase = 0x11A7;  // one below the first trailing consonant
constexpr char32_t kHangulLCount = 19;
constexpr char32_t kHangulVCount = 21;
constexpr char32_t kHangulTCount = 28;
constexpr char32_t kHangulNCount = kHangulVCount * kHangulTCount;
constexpr char32_t kHangulSCount = kHangulLCount * kHangulNCount;

// A character of the text being normalized, with its canonical combining class looked up once.
struct Character {
  char32_t code_point;
  uint8_t combining_class;
};

uint8_t CombiningClassOf(char32_t c) {
  if (c < kCombiningClasses[0].code_point) return 0;
  const auto* it = std::lower_bound(
      std::begin(kCombiningClasses), std::end(kCombiningClasses), c,
      [](const CombiningClassEntry& entry, char32_t key) { return entry.code_point < key; });
  return it != std::end(kCombiningClasses) && it->code_point == c ? it->combining_class : 0;
}

const DecompositionEntry* DecompositionOf(char32_t c) {
  if (c < kDecompositions[0].code_point) return nullptr;
  const auto* it = std::lower_bound(
      std::begin(kDecompositions), std::end(kDecompositions), c,
      [](const DecompositionEntry& entry, char32_t key) { return entry.code_point < key; });
  return it != std::end(kDecompositions) && it->code_point == c ? it : nullptr;
}

// The primary composite of `first` followed by `second`, if there is one.
std::optional<char32_t> CompositeOf(char32_t first, char32_t second) {
  if (first - kHangulLBase < kHangulLCount && second - kHangulVBase < kHangulVCount) {
    return kHangulSBase +
           ((first - kHangulLBase) * kHangulVCount + (second - kHangulVBase)) * kHangulTCount;
  }
  // An LV syllable (one without a trailing consonant) and a trailing consonant; TBase itself is
  // not one.
  if (first - kHangulSBase < kHangulSCount && (first - kHangulSBase) % kHangulTCount == 0 &&
      second - kHangulTBase - 1 < kHangulTCount - 1) {
    return first + (second - kHangulTBase);
  }
  const auto* it = std::lower_bound(
      std::begin(kCompositions), std::end(kCompositions), CompositionEntry{first, second, 0},
      [](const CompositionEntry& a, const CompositionEntry& b) {
        return a.first < b.first || (a.first == b.first && a.second < b.second);
      });
  if (it != std::end(kCompositions) && it->first == first && it->second == second) {
    return it->composite;
  }
  return std::nullopt;
}

// Decodes the character at `*pos` of `text` into `*c` and moves `*pos` past it. False, with
// neither changed, when the bytes there are not a well-formed UTF-8 sequence (The Unicode
// Standard, table 3-7: no overlong forms, surrogates or code points above U+10FFFF, nothing cut
// short). `*pos` must be below text.size().
bool DecodeNext(std::string_view text, size_t* pos, char32_t* c) {
  const size_t i = *pos;
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) {
    *c = lead;
    *pos = i + 1;
    return true;
  }
  size_t length = 0;
  char32_t value = 0;
  // The range of the second byte; the later ones are always 0x80-0xBF.
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    value = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    value = lead & 0x0F;
    if (lead == 0xE0) low = 0xA0;   // overlong below U+0800
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    value = lead & 0x07;
    if (lead == 0xF0) low = 0x90;   // overlong below U+10000
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return false;  // a continuation byte, an overlong lead (C0, C1) or F5-FF
  }
  if (text.size() - i < length) return false;
  for (size_t k = 1; k < length; ++k) {
    const unsigned char b = byte(i + k);
    if (b < low || b > high) return false;
    low = 0x80;
    high = 0xBF;
    value = (value << 6) | (b & 0x3F);
  }
  *c = value;
  *pos = i + length;
  return true;
}

std::string EncodeUtf8(const std::vector<Character>& chars, size_t size_hint) {
  std::string out;
  out.reserve(size_hint);
  for (const Character& ch : chars) AppendUtf8(ch.code_point, &out);
  return out;
}

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char b) { return static_cast<unsigned char>(b) < 0x80; });
}

// Appends the full canonical decomposition of `c` (in canonical order already) to `out`.
void AppendDecomposition(char32_t c, std::vector<Character>* out) {
  if (c - kHangulSBase < kHangulSCount) {
    const char32_t s = c - kHangulSBase;
    out->push_back({kHangulLBase + s / kHangulNCount, 0});
    out->push_back({kHangulVBase + (s % kHangulNCount) / kHangulTCount, 0});
    if (s % kHangulTCount != 0) out->push_back({kHangulTBase + s % kHangulTCount, 0});
    return;
  }
  if (const DecompositionEntry* entry = DecompositionOf(c)) {
    for (size_t k = entry->start; k < size_t{entry->start} + entry->length; ++k) {
      const char32_t part = kDecompositionCodePoints[k];
      out->push_back({part, CombiningClassOf(part)});
    }
    return;
  }
  out->push_back({c, CombiningClassOf(c)});
}

// The Normalization Form D of `text` as characters; nullopt when `text` is not valid UTF-8.
std::optional<std::vector<Character>> Decompose(std::string_view text) {
  std::vector<Character> chars;
  chars.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t c = 0;
    if (!DecodeNext(text, &pos, &c)) return std::nullopt;
    AppendDecomposition(c, &chars);
  }
  // Canonical ordering. Decompositions are in canonical order on their own, but a run of
  // non-starters can span several characters' decompositions. Stable: marks of one class keep
  // their order, which is what distinguishes them.
  const auto is_starter = [](const Character& ch) { return ch.combining_class == 0; };
  auto run_begin = std::find_if_not(chars.begin(), chars.end(), is_starter);
  while (run_begin != chars.end()) {
    const auto run_end = std::find_if(run_begin, chars.end(), is_starter);
    if (run_end - run_begin > 1) {
      std::stable_sort(run_begin, run_end, [](const Character& a, const Character& b) {
        return a.combining_class < b.combining_class;
      });
    }
    run_begin = std::find_if_not(run_end, chars.end(), is_starter);
  }
  return chars;
}

// Canonical composition of `*chars`, which are in Normalization Form D, in place.
void Compose(std::vector<Character>* chars) {
  constexpr size_t kNoStarter = static_cast<size_t>(-1);
  // Index in the kept prefix of the last starter, if there is one yet: a text may begin with
  // non-starters, which then compose with nothing.
  size_t starter = kNoStarter;
  // The class of the last character kept after the starter. Those characters are non-starters
  // (a kept starter becomes the starter) in canonical order, so the last has the highest class,
  // and a character is blocked from the starter exactly when something lies between them and
  // this class is not below its own (with class 0, anything between blocks).
  uint8_t last_class = 0;
  size_t kept = 0;
  for (size_t i = 0; i < chars->size(); ++i) {
    const Character ch = (*chars)[i];
    if (starter != kNoStarter && (kept == starter + 1 || last_class < ch.combining_class)) {
      if (const std::optional<char32_t> composite =
              CompositeOf((*chars)[starter].code_point, ch.code_point)) {
        // Primary composites are starters (the generator checks it), so `starter` stays one.
        (*chars)[starter].code_point = *composite;
        continue;
      }
    }
    if (ch.combining_class == 0) starter = kept;
    last_class = ch.combining_class;
    (*chars)[kept++] = ch;
  }
  chars->resize(kept);
}

}  // namespace

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

std::string_view UnicodeNormalizationVersion() { return kUnicodeTablesVersion; }

std::string ToNfd(std::string_view text) {
  if (IsAscii(text)) return std::string(text);
  std::optional<std::vector<Character>> chars = Decompose(text);
  if (!chars.has_value()) return std::string(text);
  return EncodeUtf8(*chars, text.size() + text.size() / 2);
}

std::string ToNfc(std::string_view text) {
  if (IsAscii(text)) return std::string(text);
  std::optional<std::vector<Character>> chars = Decompose(text);
  if (!chars.has_value()) return std::string(text);
  Compose(&*chars);
  return EncodeUtf8(*chars, text.size());
}

}  // namespace star
