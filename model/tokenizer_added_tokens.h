#ifndef STAR_MODEL_TOKENIZER_ADDED_TOKENS_H_
#define STAR_MODEL_TOKENIZER_ADDED_TOKENS_H_

// Added tokens: finding them in text (leftmost-longest) and splitting text around them with
// their lstrip/rstrip.
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
#include "model/tokenizer.h"
#include "model/tokenizer_unicode.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace star::tokenizer_internal {

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
                        const std::vector<AddedToken>& tokens, std::vector<Segment>* out);

}  // namespace star::tokenizer_internal

#endif  // STAR_MODEL_TOKENIZER_ADDED_TOKENS_H_
