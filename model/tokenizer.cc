#include "model/tokenizer.h"

#include <unordered_set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "files/bounded_read.h"
#include "files/excerpt.h"
#include "model/tokenizer_added_tokens.h"
#include "model/tokenizer_bpe.h"
#include "model/tokenizer_decoder.h"
#include "model/tokenizer_json.h"
#include "model/tokenizer_normalizer.h"
#include "model/tokenizer_pre_tokenizer.h"
#include "model/tokenizer_unicode.h"

// The pipeline (Encode, Decode) and the public interface. Each stage lives in its own file:
// tokenizer_unicode (UTF-8, byte-level alphabet), tokenizer_regex (Oniguruma on RE2),
// tokenizer_normalizer, tokenizer_pre_tokenizer, tokenizer_bpe, tokenizer_added_tokens,
// tokenizer_decoder (and post-processor templates), tokenizer_json (reading tokenizer.json).

namespace star {

using tokenizer_internal::Json;
using tokenizer_internal::Sv;
using tokenizer_internal::StringMap;
using tokenizer_internal::BpeModel;
using tokenizer_internal::BpeVocabulary;
using tokenizer_internal::AddedTokenMatcher;
using tokenizer_internal::Segment;
using tokenizer_internal::SplitOnAddedTokens;
using tokenizer_internal::PreTokenizerStep;
using tokenizer_internal::ApplyPreTokenizerStep;
using tokenizer_internal::Template;
using tokenizer_internal::TemplatePiece;
using tokenizer_internal::DecoderChain;
using tokenizer_internal::DecoderStep;
using tokenizer_internal::ApplyDecoderStep;
using tokenizer_internal::Join;
using tokenizer_internal::TokenEntry;
using tokenizer_internal::ConfigReader;
struct Tokenizer::State {
  std::unique_ptr<BpeModel> model;
  std::vector<AddedToken> added_tokens;
  StringMap<int32_t> added_token_index;  // content -> index into added_tokens
  AddedTokenMatcher raw_matcher;         // added tokens with normalized == false
  AddedTokenMatcher normalized_matcher;  // and with normalized == true
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  std::vector<Template> templates;  // applied in order when add_special_tokens
  DecoderChain decoder;
  std::vector<TokenEntry> tokens_by_id;

  // Fills the fields from a parsed tokenizer.json.
  absl::Status Load(const Json& root, const ConfigReader& reader);
};

absl::Status Tokenizer::State::Load(const Json& root, const ConfigReader& reader) {
  for (const char* key : {"truncation", "padding"}) {
    if (ConfigReader::Find(root, key) != nullptr) {
      return reader.Unsupported(key, "must be null (it is not supported)");
    }
  }
  const Json* model_json = ConfigReader::Find(root, "model");
  if (model_json == nullptr) return reader.Invalid("model", "is missing");
  BpeVocabulary vocabulary;
  absl::Status status = reader.ReadModel(*model_json, &vocabulary);
  if (!status.ok()) return status;
  if (!(status = reader.ReadAddedTokens(root, vocabulary, &added_tokens)).ok()) return status;
  model = std::make_unique<BpeModel>(std::move(vocabulary));
  if (const Json* json = ConfigReader::Find(root, "normalizer")) {
    if (!(status = reader.ReadNormalizer(*json, "normalizer", &normalizer)).ok()) return status;
  }
  if (const Json* json = ConfigReader::Find(root, "pre_tokenizer")) {
    if (!(status = reader.ReadPreTokenizer(*json, "pre_tokenizer", &pre_tokenizer)).ok()) {
      return status;
    }
  }
  if (const Json* json = ConfigReader::Find(root, "post_processor")) {
    if (!(status = reader.ReadPostProcessor(*json, "post_processor", &templates)).ok()) {
      return status;
    }
  }
  if (const Json* json = ConfigReader::Find(root, "decoder")) {
    decoder.present = true;
    if (!(status = reader.ReadDecoder(*json, "decoder", &decoder.steps)).ok()) return status;
  }

  // Ids to tokens: added tokens take precedence over the model's vocab, as in tokenizers.
  const StringMap<int32_t>& vocab = model->vocabulary().vocab;
  int32_t max_id = -1;
  for (const auto& [text, id] : vocab) max_id = std::max(max_id, id);
  for (const AddedToken& token : added_tokens) max_id = std::max(max_id, token.id);
  tokens_by_id.resize(static_cast<size_t>(max_id + 1));
  for (const auto& [text, id] : vocab) tokens_by_id[id] = {text, true, false};
  std::unordered_set<std::string_view> special_contents;
  for (size_t i = 0; i < added_tokens.size(); ++i) {
    const AddedToken& token = added_tokens[i];
    tokens_by_id[token.id] = {token.content, true, false};
    added_token_index.emplace(token.content, static_cast<int32_t>(i));
    if (token.special) special_contents.insert(token.content);
    (token.normalized ? normalized_matcher : raw_matcher)
        .Add(token.content, static_cast<int32_t>(i));
  }
  for (TokenEntry& entry : tokens_by_id) {
    entry.special = entry.assigned && special_contents.contains(entry.text);
  }
  return absl::OkStatus();
}

Tokenizer::Tokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

absl::StatusOr<Tokenizer> Tokenizer::FromFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, kMaxTokenizerFileBytes);
  if (!text.ok()) return text.status();
  return FromJson(*text, path);
}

absl::StatusOr<Tokenizer> Tokenizer::FromJson(std::string_view json, std::string_view source_name) {
  const ConfigReader reader(source_name);
  Json root;
  try {
    // nlohmann reports the position of a syntax error only through its exception.
    root = Json::parse(json.begin(), json.end());
  } catch (const Json::exception& e) {  // a syntax error, or a number out of range (406)
    std::string_view what = e.what();
    if (const size_t bracket = what.find("] "); bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(source_name), ": invalid JSON: ", SafeParserMessage(what)));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(source_name), ": is not a JSON object"));
  }
  auto state = std::make_unique<State>();
  absl::Status status;
  try {
    status = state->Load(root, reader);
  } catch (const Json::exception& e) {
    // Every access is type-checked first; this only keeps a missed case from escaping.
    status = absl::InternalError(absl::StrCat(Sv(source_name), ": ", SafeParserMessage(e.what())));
  }
  if (!status.ok()) return status;
  return Tokenizer(std::move(state));
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  const State& state = *state_;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  // Added tokens are split off first: those matched in the raw text, then (in each stretch left,
  // normalized on its own) those matched in the normalized text.
  std::vector<Segment> outer;
  std::vector<Segment> inner;
  std::vector<std::string> pieces;
  std::vector<std::string> next_pieces;
  SplitOnAddedTokens(text, 0, state.raw_matcher, state.added_tokens, &outer);
  for (const Segment& segment : outer) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    inner.clear();
    const std::string_view raw = text.substr(segment.begin, segment.end - segment.begin);
    std::string normalized_storage;
    if (!state.normalizer.empty()) normalized_storage = Normalize(state.normalizer, raw);
    const std::string_view normalized = state.normalizer.empty() ? raw : normalized_storage;
    SplitOnAddedTokens(normalized, 0, state.normalized_matcher, state.added_tokens, &inner);
    for (const Segment& part : inner) {
      if (part.id >= 0) {
        ids.push_back(part.id);
        continue;
      }
      pieces.clear();
      pieces.emplace_back(normalized.substr(part.begin, part.end - part.begin));
      // Whether pieces[0] begins the input, for Metaspace's "first" scheme.
      bool first_at_start = segment.begin == 0 && part.begin == 0;
      for (const PreTokenizerStep& step : state.pre_tokenizer) {
        next_pieces.clear();
        for (size_t k = 0; k < pieces.size(); ++k) {
          ApplyPreTokenizerStep(step, pieces[k], first_at_start && k == 0, &next_pieces);
        }
        pieces.swap(next_pieces);
      }
      for (const std::string& piece : pieces) state.model->Tokenize(piece, &ids);
    }
  }
  if (add_special_tokens) {
    for (const Template& steps : state.templates) {
      std::vector<int32_t> templated;
      templated.reserve(ids.size() + 4);
      for (const TemplatePiece& piece : steps) {
        const std::vector<int32_t>& source = piece.is_sequence ? ids : piece.ids;
        templated.insert(templated.end(), source.begin(), source.end());
      }
      ids.swap(templated);
    }
  }
  return ids;
}

absl::StatusOr<std::string> Tokenizer::Decode(const std::vector<int32_t>& ids,
                                              bool skip_special_tokens) const {
  const State& state = *state_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= state.tokens_by_id.size()) {
      return absl::OutOfRangeError(
          absl::StrCat("token id ", id, " is out of range [0, ", state.tokens_by_id.size(), ")"));
    }
    const TokenEntry& entry = state.tokens_by_id[id];
    if (!entry.assigned) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", id, " is not assigned to any token"));
    }
    if (skip_special_tokens && entry.special) continue;
    tokens.emplace_back(entry.text);
  }
  if (!state.decoder.present) return Join(tokens, " ");
  for (const DecoderStep& step : state.decoder.steps) tokens = ApplyDecoderStep(step, std::move(tokens));
  return Join(tokens, "");
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  if (auto it = state_->added_token_index.find(token); it != state_->added_token_index.end()) {
    return state_->added_tokens[it->second].id;
  }
  const StringMap<int32_t>& vocab = state_->model->vocabulary().vocab;
  if (auto it = vocab.find(token); it != vocab.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> Tokenizer::IdToToken(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= state_->tokens_by_id.size()) return std::nullopt;
  const TokenEntry& entry = state_->tokens_by_id[id];
  if (!entry.assigned) return std::nullopt;
  return std::string(entry.text);
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(state_->tokens_by_id.size()); }

std::optional<int32_t> Tokenizer::SpecialTokenId(std::string_view content) const {
  auto it = state_->added_token_index.find(content);
  if (it == state_->added_token_index.end()) return std::nullopt;
  const AddedToken& token = state_->added_tokens[it->second];
  if (!token.special) return std::nullopt;
  return token.id;
}

bool Tokenizer::IsSpecialToken(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < state_->tokens_by_id.size() &&
         state_->tokens_by_id[id].special;
}

const std::vector<AddedToken>& Tokenizer::added_tokens() const { return state_->added_tokens; }

std::optional<int32_t> Tokenizer::unk_token_id() const {
  return state_->model->vocabulary().unk_id;
}

}  // namespace star
