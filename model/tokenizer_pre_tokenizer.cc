#include "model/tokenizer_pre_tokenizer.h"

#include <algorithm>
#include <array>
#include <queue>
#include <unordered_set>

#include "files/excerpt.h"

namespace star::tokenizer_internal {

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

}  // namespace star::tokenizer_internal
