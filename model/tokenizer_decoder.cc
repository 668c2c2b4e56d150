#include "model/tokenizer_decoder.h"

#include <algorithm>
#include <array>
#include <queue>
#include <unordered_set>

#include "files/excerpt.h"

namespace star::tokenizer_internal {

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(separator);
    out.append(parts[i]);
  }
  return out;
}

std::string DecodeByteLevel(const std::vector<std::string>& tokens) {
  const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::Get();
  std::string bytes;
  for (const std::string& token : tokens) {
    const size_t mark = bytes.size();
    bool all_bytes = true;
    for (size_t pos = 0; pos < token.size();) {
      const size_t length = CharLengthAt(token, pos);
      const int byte = alphabet.ByteFor(CodePointAt(token, pos, length));
      if (byte < 0) {
        all_bytes = false;
        break;
      }
      bytes.push_back(static_cast<char>(byte));
      pos += length;
    }
    if (!all_bytes) {
      bytes.resize(mark);
      bytes.append(token);
    }
  }
  return LossyUtf8(bytes);
}

std::vector<std::string> DecodeByteFallback(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string bytes;
  size_t byte_tokens = 0;
  auto flush = [&] {
    if (byte_tokens == 0) return;
    const std::string lossy = LossyUtf8(bytes);
    if (lossy == bytes) {
      out.push_back(bytes);
    } else {
      std::string replacement;
      for (size_t i = 0; i < byte_tokens; ++i) replacement += "\xEF\xBF\xBD";
      out.push_back(std::move(replacement));
    }
    bytes.clear();
    byte_tokens = 0;
  };
  for (const std::string& token : tokens) {
    if (token.size() == 6 && token.starts_with("<0x") && token[5] == '>' && IsHexDigit(token[3]) &&
        IsHexDigit(token[4])) {
      bytes.push_back(static_cast<char>(std::stoi(token.substr(3, 2), nullptr, 16)));
      ++byte_tokens;
      continue;
    }
    flush();
    out.push_back(token);
  }
  flush();
  return out;
}

std::vector<std::string> ApplyDecoderStep(const DecoderStep& step, std::vector<std::string> tokens) {
  switch (step.kind) {
    case DecoderStep::Kind::kByteLevel: return {DecodeByteLevel(tokens)};
    case DecoderStep::Kind::kFuse: return {Join(tokens, "")};
    case DecoderStep::Kind::kByteFallback: return DecodeByteFallback(tokens);
    case DecoderStep::Kind::kReplace:
      for (std::string& token : tokens) token = ReplaceAll(token, step.pattern, step.content);
      return tokens;
    case DecoderStep::Kind::kStrip:
      for (std::string& token : tokens) {
        size_t left = 0;
        while (left < step.start && token.size() >= (left + 1) * step.pattern.size() &&
               token.compare(left * step.pattern.size(), step.pattern.size(), step.pattern) == 0) {
          ++left;
        }
        token.erase(0, left * step.pattern.size());
        size_t right = 0;
        while (right < step.stop && token.size() >= (right + 1) * step.pattern.size() &&
               token.compare(token.size() - (right + 1) * step.pattern.size(), step.pattern.size(),
                             step.pattern) == 0) {
          ++right;
        }
        token.resize(token.size() - right * step.pattern.size());
      }
      return tokens;
    case DecoderStep::Kind::kMetaspace:
      // Every replacement becomes a space, except in the first token when a prefix was
      // prepended: there every one is dropped (tokenizers' Metaspace::decode_chain).
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = ReplaceAll(tokens[i], step.pattern, i == 0 && step.prepend ? "" : " ");
      }
      return tokens;
  }
  return tokens;
}

}  // namespace star::tokenizer_internal
