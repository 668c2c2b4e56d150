#ifndef STAR_MODEL_TOKENIZER_H_
#define STAR_MODEL_TOKENIZER_H_

// A Hugging Face `tokenizer.json` tokenizer for BPE models, without torch or Python.
//
// Encode() and Decode() reproduce the `tokenizers` library (the reference is version 0.23;
// tests/python/tokenizer_reference_test.py compares the two on random Unicode) for this subset
// of the format. Everything outside it is refused at load time, naming the file and the field,
// rather than tokenized differently:
//
//   model           BPE: vocab, merges (as "a b" strings or ["a", "b"] pairs), unk_token,
//                   fuse_unk, ignore_merges, byte_fallback (a character outside the vocab
//                   becomes its bytes' "<0xXX>" tokens, as Llama-2's tokenizer does).
//                   continuing_subword_prefix and end_of_word_suffix must be null, dropout null
//                   or 0. A vocab that gives two tokens one id is refused (tokenizers accepts it
//                   and then decodes one of them at random).
//   normalizer      null; NFC (Qwen2.5), NFD (model/unicode_normalization.h); Prepend;
//                   Replace with a String pattern (Llama-2's "▁" marking); Sequence of these.
//                   NFKC, NFKD, Lowercase, ... are refused.
//   pre_tokenizer   null; ByteLevel (add_prefix_space, use_regex with GPT-2's pattern);
//                   Split with a Regex or String pattern, any behavior, invert; Digits
//                   (SmolLM2's: individual_digits or runs); Metaspace
//                   (replacement, prepend_scheme always/first/never or add_prefix_space, split);
//                   Sequence of these.
//   added_tokens    special or not, normalized or not, lstrip and rstrip. single_word must be
//                   false. As in tokenizers, the "id" written in the file is not trusted: ids
//                   are assigned again in file order (a token already in the model's vocab
//                   keeps that id, the others follow the model's vocab).
//   post_processor  null, ByteLevel, TemplateProcessing (its `single` template), Sequence.
//   decoder         null (tokens joined by a space), ByteLevel, ByteFallback, Fuse, Metaspace,
//                   Replace (String pattern), Strip, Sequence.
//   truncation, padding  must be null.
//
// Split patterns are Oniguruma regexes; they run on RE2 after a translation that keeps their
// meaning: \s, \d, \w are Unicode-aware as in Oniguruma, `^`/`$` match at line ends, general
// categories (\p{L}, \p{N}, ...) are widened from RE2's Unicode 15.0 tables to the Unicode 16.0
// ones tokenizers uses, and the one lookaround idiom tokenizers' patterns use, a trailing
// `\s+(?!\S)|\s+`, is emulated. Any other lookaround, backreference, atomic group or nested
// class is refused (kUnimplemented). Known differences: script properties (\p{Han}) keep RE2's
// Unicode 15.0 extent, and so do a negated category inside a class ([\P{L}x]) and \p{Mn}
// (U+1171E, Mn in 15.0, is Mc in 16.0).
//
// Text is UTF-8. Decode() turns byte sequences that are not valid UTF-8 into U+FFFD exactly as
// Rust's String::from_utf8_lossy does. Encode() accepts invalid UTF-8 (tokenizers cannot take
// it): the bytes are kept, and a byte-level model encodes them byte by byte.
//
//   absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile("/models/llama3/tokenizer.json");
//   std::vector<int32_t> ids = tokenizer->Encode("Hello, world", /*add_special_tokens=*/true);
//   absl::StatusOr<std::string> text = tokenizer->Decode(ids);
//
// Thread-safe: all methods are const and may be called concurrently (the per-word BPE cache
// is guarded by a mutex). Movable, not copyable; a moved-from Tokenizer may only be destroyed
// or assigned to.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace star {

// One entry of tokenizer.json's `added_tokens`, with the id the tokenizer gives it.
struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  // Whether it is matched in the normalized text (it is matched after the tokens that are not).
  bool normalized = false;
  // Whether the token absorbs the whitespace on its left / right.
  bool lstrip = false;
  bool rstrip = false;
};

// The largest tokenizer.json read (the ecosystem's largest, Gemma's and Qwen's, are 10-35 MB).
inline constexpr uint64_t kMaxTokenizerFileBytes = 128ULL << 20;

class Tokenizer {
 public:
  // Reads and parses a tokenizer.json. The file's errno maps to the code (kNotFound for a
  // missing file); content errors are as for FromJson.
  // At most kMaxTokenizerFileBytes are read, whatever size the file claims.
  static absl::StatusOr<Tokenizer> FromFile(const std::string& path);

  // Parses the text of a tokenizer.json. Every error message starts with "SOURCE_NAME: " and
  // names the offending field, e.g. `tokenizer.json: model.type "WordPiece" is not supported
  // (only BPE)`. kInvalidArgument for malformed JSON (with its line and column), a missing or
  // mistyped field, or an inconsistent file (a merge naming a token that is not in the vocab);
  // kUnimplemented for a well-formed feature outside the subset above.
  static absl::StatusOr<Tokenizer> FromJson(std::string_view json, std::string_view source_name);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;
  ~Tokenizer();

  // The ids of `text`, as tokenizers' `encode(text, add_special_tokens)`. Added tokens in the
  // text become their ids; with `add_special_tokens` the post-processor's template (e.g. a
  // BOS token) is applied. Characters that are not in the vocab become unk_token or, without
  // one, are dropped (as tokenizers does). Never fails: the configuration was checked at load.
  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens = false) const;

  // The text of `ids`, as tokenizers' `decode(ids, skip_special_tokens)`. kOutOfRange naming
  // the id for an id outside [0, vocab_size()); kInvalidArgument naming the id for an id in
  // range that no token has. (tokenizers silently skips such ids.)
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                                     bool skip_special_tokens = false) const;

  // The id of a token of the model's vocab or of an added token (added tokens win).
  std::optional<int32_t> TokenToId(std::string_view token) const;
  // The token with `id` (added tokens win), or nullopt if no token has it.
  std::optional<std::string> IdToToken(int32_t id) const;

  // One more than the largest id of the model's vocab and the added tokens (tokenizers'
  // get_vocab_size() counts entries instead, which is less when ids leave holes).
  int32_t vocab_size() const;

  // The id of the special added token `content` (e.g. "<|endoftext|>"); nullopt if there is
  // no such token or it is not special.
  std::optional<int32_t> SpecialTokenId(std::string_view content) const;
  // Whether `id` is a special added token (what Decode skips with skip_special_tokens).
  bool IsSpecialToken(int32_t id) const;
  // The added tokens in file order, with their assigned ids.
  const std::vector<AddedToken>& added_tokens() const;
  // The id of model.unk_token, if there is one.
  std::optional<int32_t> unk_token_id() const;

 private:
  struct State;  // defined in tokenizer.cc

  explicit Tokenizer(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace star

#endif  // STAR_MODEL_TOKENIZER_H_
