#ifndef STAR_MODEL_TOKENIZER_BPE_H_
#define STAR_MODEL_TOKENIZER_BPE_H_

// The BPE model: vocabulary, merges by rank, unknown characters, byte fallback, and a cache of
// merged pieces.
// Internal to the Tokenizer (model/tokenizer.h); tokenizers' behaviour is the reference.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
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

struct MergeRule {
  uint32_t rank;
  int32_t new_id;
};

uint64_t PairKey(int32_t left, int32_t right);

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

}  // namespace star::tokenizer_internal

#endif  // STAR_MODEL_TOKENIZER_BPE_H_
