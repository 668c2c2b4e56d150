#ifndef STAR_MODEL_TOKENIZER_DECODER_H_
#define STAR_MODEL_TOKENIZER_DECODER_H_

// Post-processor templates and decoders (ByteLevel, ByteFallback, Fuse, Metaspace, Replace,
// Strip).
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
#include "model/tokenizer_regex.h"
#include "model/tokenizer_unicode.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace star::tokenizer_internal {

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

std::string Join(const std::vector<std::string>& parts, std::string_view separator);

// ByteLevel::decode_chain: a token whose characters all stand for bytes gives those bytes,
// any other token its own text; the whole is then read as lossy UTF-8.
std::string DecodeByteLevel(const std::vector<std::string>& tokens);

// ByteFallback::decode_chain: runs of byte tokens ("<0xE4>") become the text their bytes
// spell, or one U+FFFD per byte when they are not valid UTF-8; other tokens stay.
std::vector<std::string> DecodeByteFallback(const std::vector<std::string>& tokens);

// One decoder step over the tokens (tokenizers' decode_chain of each decoder).
std::vector<std::string> ApplyDecoderStep(const DecoderStep& step, std::vector<std::string> tokens);

struct TokenEntry {
  std::string_view text;  // points into BpeVocabulary::vocab or State::added_tokens
  bool assigned = false;
  bool special = false;  // its text is a special added token's
};

}  // namespace star::tokenizer_internal

#endif  // STAR_MODEL_TOKENIZER_DECODER_H_
