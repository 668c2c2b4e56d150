#include "model/tokenizer_added_tokens.h"

#include <algorithm>
#include <array>
#include <queue>
#include <unordered_set>

#include "files/excerpt.h"

namespace star::tokenizer_internal {

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

}  // namespace star::tokenizer_internal
