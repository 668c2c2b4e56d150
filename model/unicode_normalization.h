#ifndef STAR_MODEL_UNICODE_NORMALIZATION_H_
#define STAR_MODEL_UNICODE_NORMALIZATION_H_

// Unicode canonical normalization: Normalization Forms D and C of Unicode Standard Annex #15
// (canonical decomposition, canonical ordering, canonical composition; Hangul syllables
// algorithmically), from tables that scripts/make_unicode_tables.py generates from the Unicode
// Character Database (model/unicode_normalization_tables.inc). The compatibility forms (NFKD,
// NFKC) are not provided.
//
// Every function is pure and thread-safe: the tables are constants, and nothing else is shared.
// Nothing fails: text that is not valid UTF-8 (a truncated or overlong sequence, a stray
// continuation byte, a surrogate, a code point above U+10FFFF) is returned unchanged, as it is.

#include <string>
#include <string_view>

namespace star {

// Appends the UTF-8 encoding of `c` (a code point up to U+10FFFF) to `out`.
void AppendUtf8(char32_t c, std::string* out);

// The Unicode version of the tables, e.g. "15.0.0". The view refers to a constant.
std::string_view UnicodeNormalizationVersion();

// The Normalization Form D of `text`: every character replaced by its full canonical
// decomposition, then every run of non-starters stably sorted by canonical combining class.
// `text` itself when it is not valid UTF-8 (see above) or is all ASCII.
std::string ToNfd(std::string_view text);

// The Normalization Form C of `text`: its Form D, then every character that is not blocked from
// the last starter before it combined with that starter into their primary composite, if there
// is one. `text` itself when it is not valid UTF-8 (see above) or is all ASCII.
std::string ToNfc(std::string_view text);

}  // namespace star

#endif  // STAR_MODEL_UNICODE_NORMALIZATION_H_
