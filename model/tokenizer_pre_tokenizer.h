#ifndef STAR_MODEL_TOKENIZER_PRE_TOKENIZER_H_
#define STAR_MODEL_TOKENIZER_PRE_TOKENIZER_H_

// Pre-tokenizers: Split, ByteLevel and Metaspace, cutting text into the pieces the BPE model
// sees.
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
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace star::tokenizer_internal {

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
                 bool invert, std::vector<std::pair<size_t, size_t>>* kept);

// Applies one step to `piece` and appends the resulting non-empty pieces to `out`. `at_start`:
// the piece begins at the start of the input (Metaspace's "first" scheme prepends only there).
void ApplyPreTokenizerStep(const PreTokenizerStep& step, std::string_view piece, bool at_start,
                           std::vector<std::string>* out);

}  // namespace star::tokenizer_internal

#endif  // STAR_MODEL_TOKENIZER_PRE_TOKENIZER_H_
