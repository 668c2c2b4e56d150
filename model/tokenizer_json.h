#ifndef STAR_MODEL_TOKENIZER_JSON_H_
#define STAR_MODEL_TOKENIZER_JSON_H_

// Reading tokenizer.json: every component the Tokenizer supports, and an error naming the file
// and the field for everything else.
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
#include "files/excerpt.h"
#include "model/tokenizer.h"
#include "model/tokenizer_added_tokens.h"
#include "model/tokenizer_bpe.h"
#include "model/tokenizer_decoder.h"
#include "model/tokenizer_normalizer.h"
#include "model/tokenizer_pre_tokenizer.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace star::tokenizer_internal {

// Reads the parts of a tokenizer.json; every error names the source and the field.
class ConfigReader {
 public:
  explicit ConfigReader(std::string_view source) : source_(source) {}

  // What the file said is quoted only within a bounded, escaped excerpt (files/excerpt.h).
  absl::Status Invalid(std::string_view field, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": ", Excerpt(field, 160), " ", Excerpt(what, 160)));
  }
  absl::Status Unsupported(std::string_view field, std::string_view what) const {
    return absl::UnimplementedError(
        absl::StrCat(source_, ": ", Excerpt(field, 160), " ", Excerpt(what, 160)));
  }

  // The member `key` of `object`, or null when it is missing or JSON null.
  static const Json* Find(const Json& object, const char* key) {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  absl::Status ReadBool(const Json& object, std::string_view path, const char* key, bool fallback,
                        bool* out) const {
    const Json* value = Find(object, key);
    if (value == nullptr) {
      *out = fallback;
      return absl::OkStatus();
    }
    if (!value->is_boolean()) return Invalid(Field(path, key), "must be true or false");
    *out = value->get<bool>();
    return absl::OkStatus();
  }

  absl::Status ReadOptionalString(const Json& object, std::string_view path, const char* key,
                                  std::optional<std::string>* out) const {
    const Json* value = Find(object, key);
    if (value == nullptr) {
      out->reset();
      return absl::OkStatus();
    }
    if (!value->is_string()) return Invalid(Field(path, key), "must be a string or null");
    *out = value->get_ref<const std::string&>();
    return absl::OkStatus();
  }

  // The `type` of a component object at `path`.
  absl::StatusOr<std::string> ReadType(const Json& object, std::string_view path) const {
    if (!object.is_object()) return Invalid(path, "must be an object or null");
    const Json* type = Find(object, "type");
    if (type == nullptr) return Invalid(Field(path, "type"), "is missing");
    if (!type->is_string()) return Invalid(Field(path, "type"), "must be a string");
    return type->get<std::string>();
  }

  static std::string Field(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : absl::StrCat(Sv(path), ".", Sv(key));
  }
  static std::string Index(std::string_view path, size_t i) {
    return absl::StrCat(Sv(path), "[", i, "]");
  }

  absl::Status ReadModel(const Json& model, BpeVocabulary* out) const {
    if (!model.is_object()) return Invalid("model", "must be an object");
    std::string type = "BPE";
    if (const Json* t = Find(model, "type")) {
      if (!t->is_string()) return Invalid("model.type", "must be a string");
      type = t->get<std::string>();
    } else if (Find(model, "merges") == nullptr) {
      return Invalid("model.type", "is missing");
    }
    if (type != "BPE") {
      return Unsupported("model.type", absl::StrCat("\"", type, "\" is not supported (only BPE)"));
    }
    if (const Json* dropout = Find(model, "dropout")) {
      if (!dropout->is_number()) return Invalid("model.dropout", "must be a number or null");
      if (dropout->get<double>() != 0) {
        return Unsupported("model.dropout",
                           "must be null or 0 (BPE dropout is random; this tokenizer is not)");
      }
    }
    absl::Status status = ReadBool(model, "model", "byte_fallback", false, &out->byte_fallback);
    if (!status.ok()) return status;
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      std::optional<std::string> affix;
      if (!(status = ReadOptionalString(model, "model", key, &affix)).ok()) return status;
      if (affix.has_value() && !affix->empty()) {
        return Unsupported(Field("model", key),
                           absl::StrCat("\"", *affix, "\" is not supported (only null)"));
      }
    }
    if (!(status = ReadBool(model, "model", "fuse_unk", false, &out->fuse_unk)).ok()) {
      return status;
    }
    if (!(status = ReadBool(model, "model", "ignore_merges", false, &out->ignore_merges)).ok()) {
      return status;
    }

    const Json* vocab = Find(model, "vocab");
    if (vocab == nullptr) return Invalid("model.vocab", "is missing");
    if (!vocab->is_object()) return Invalid("model.vocab", "must be an object");
    out->vocab.reserve(vocab->size());
    std::unordered_map<int32_t, const std::string*> token_by_id;
    token_by_id.reserve(vocab->size());
    for (auto it = vocab->begin(); it != vocab->end(); ++it) {
      const std::string field = absl::StrCat("model.vocab[\"", it.key(), "\"]");
      if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > kMaxTokenId) {
        return Invalid(field, absl::StrCat("must be an integer id in [0, ", kMaxTokenId, "]"));
      }
      const int32_t id = static_cast<int32_t>(it->get<int64_t>());
      auto [other, inserted] = token_by_id.emplace(id, &it.key());
      if (!inserted) {
        return Invalid(field, absl::StrCat("reuses id ", id, " of \"", *other->second, "\""));
      }
      out->vocab.emplace(it.key(), id);
    }

    std::optional<std::string> unk_token;
    if (!(status = ReadOptionalString(model, "model", "unk_token", &unk_token)).ok()) {
      return status;
    }
    if (unk_token.has_value()) {
      auto it = out->vocab.find(*unk_token);
      if (it == out->vocab.end()) {
        return Invalid("model.unk_token",
                       absl::StrCat("\"", *unk_token, "\" is not in model.vocab"));
      }
      out->unk_id = it->second;
    }

    const Json* merges = Find(model, "merges");
    if (merges == nullptr) return Invalid("model.merges", "is missing");
    if (!merges->is_array()) return Invalid("model.merges", "must be an array");
    out->merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
      const Json& merge = (*merges)[i];
      const std::string field = Index("model.merges", i);
      std::string left;
      std::string right;
      if (merge.is_string()) {
        // tokenizers splits at every space and wants exactly two parts.
        const std::string& text = merge.get_ref<const std::string&>();
        const size_t space = text.find(' ');
        if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
          return Invalid(field,
                         absl::StrCat("\"", text, "\" is not two tokens separated by a space"));
        }
        left = text.substr(0, space);
        right = text.substr(space + 1);
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                 merge[1].is_string()) {
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      } else {
        return Invalid(field, "must be a string \"a b\" or a pair [\"a\", \"b\"]");
      }
      if (i > 0 && merge.is_string() != (*merges)[0].is_string()) {
        return Invalid(field, "mixes the \"a b\" and [\"a\", \"b\"] forms in one list");
      }
      const std::string merged = left + right;
      int32_t ids[3];
      const std::string* names[3] = {&left, &right, &merged};
      for (int k = 0; k < 3; ++k) {
        auto it = out->vocab.find(*names[k]);
        if (it == out->vocab.end()) {
          return Invalid(field, absl::StrCat(k == 2 ? "makes" : "names", " \"", *names[k],
                                             "\", which is not in model.vocab"));
        }
        ids[k] = it->second;
      }
      // As in tokenizers, a repeated pair takes its last rank.
      out->merges.insert_or_assign(PairKey(ids[0], ids[1]),
                                   MergeRule{static_cast<uint32_t>(i), ids[2]});
    }
    return absl::OkStatus();
  }

  // Reads `added_tokens` and assigns ids as AddedVocabulary::add_tokens does.
  absl::Status ReadAddedTokens(const Json& root, const BpeVocabulary& model,
                               std::vector<AddedToken>* out) const {
    const Json* tokens = Find(root, "added_tokens");
    if (tokens == nullptr) return absl::OkStatus();
    if (!tokens->is_array()) return Invalid("added_tokens", "must be an array");
    std::unordered_set<std::string> seen;
    const int64_t model_size = static_cast<int64_t>(model.vocab.size());
    std::optional<int64_t> max_added_id;
    for (size_t i = 0; i < tokens->size(); ++i) {
      const Json& entry = (*tokens)[i];
      const std::string path = Index("added_tokens", i);
      if (!entry.is_object()) return Invalid(path, "must be an object");
      const Json* content = Find(entry, "content");
      if (content == nullptr || !content->is_string()) {
        return Invalid(Field(path, "content"), "must be a string");
      }
      AddedToken token;
      token.content = content->get<std::string>();
      if (token.content.empty()) continue;  // tokenizers ignores these
      absl::Status status = ReadBool(entry, path, "special", false, &token.special);
      if (!status.ok()) return status;
      if (!(status = ReadBool(entry, path, "normalized", !token.special, &token.normalized)).ok()) {
        return status;
      }
      if (!(status = ReadBool(entry, path, "lstrip", false, &token.lstrip)).ok()) return status;
      if (!(status = ReadBool(entry, path, "rstrip", false, &token.rstrip)).ok()) return status;
      bool single_word = false;
      if (!(status = ReadBool(entry, path, "single_word", false, &single_word)).ok()) {
        return status;
      }
      if (single_word) return Unsupported(Field(path, "single_word"), "true is not supported");
      if (const Json* id = Find(entry, "id"); id != nullptr && !id->is_number_integer()) {
        return Invalid(Field(path, "id"), "must be an integer");
      }
      if (!seen.insert(token.content).second) {
        return Invalid(Field(path, "content"),
                       absl::StrCat("\"", token.content, "\" is an added token already"));
      }
      int64_t id;
      auto in_model = model.vocab.find(token.content);
      if (in_model != model.vocab.end()) {
        id = in_model->second;
      } else if (!max_added_id.has_value()) {
        id = model_size;
      } else {
        id = (*max_added_id >= model_size || model_size == 0) ? *max_added_id + 1 : model_size;
      }
      if (id > kMaxTokenId) {
        return Invalid(path, absl::StrCat("would get id ", id, ", beyond the limit ", kMaxTokenId));
      }
      max_added_id = std::max(max_added_id.value_or(id), id);
      token.id = static_cast<int32_t>(id);
      out->push_back(std::move(token));
    }
    return absl::OkStatus();
  }

  absl::Status ReadNormalizer(const Json& value, const std::string& path,
                              std::vector<NormalizerStep>* out) const {
    absl::StatusOr<std::string> type = ReadType(value, path);
    if (!type.ok()) return type.status();
    NormalizerStep step;
    if (*type == "Sequence") {
      const Json* list = Find(value, "normalizers");
      if (list == nullptr || !list->is_array()) return Invalid(Field(path, "normalizers"), "must be an array");
      for (size_t i = 0; i < list->size(); ++i) {
        absl::Status status = ReadNormalizer((*list)[i], Index(Field(path, "normalizers"), i), out);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    }
    // NFKC and NFKD are refused: the compatibility mappings of Unicode 15 and those of the
    // tokenizers library differ on characters real text holds (U+1F16C, for one).
    static const std::pair<const char*, NormalizerStep::Kind> kForms[] = {
        {"NFC", NormalizerStep::Kind::kNfc}, {"NFD", NormalizerStep::Kind::kNfd}};
    for (const auto& [name, kind] : kForms) {
      if (*type == name) {
        step.kind = kind;
        out->push_back(step);
        return absl::OkStatus();
      }
    }
    if (*type == "Prepend") {
      const Json* prepend = Find(value, "prepend");
      if (prepend == nullptr || !prepend->is_string()) return Invalid(Field(path, "prepend"), "must be a string");
      step.kind = NormalizerStep::Kind::kPrepend;
      step.text = prepend->get<std::string>();
      out->push_back(step);
      return absl::OkStatus();
    }
    if (*type == "Replace") {
      step.kind = NormalizerStep::Kind::kReplace;
      if (absl::Status status = ReadReplace(value, path, &step.text, &step.replacement); !status.ok()) {
        return status;
      }
      out->push_back(step);
      return absl::OkStatus();
    }
    return Unsupported(Field(path, "type"),
                       absl::StrCat("\"", *type,
                                    "\" is not supported (only NFC, NFD, Prepend, Replace and "
                                    "Sequence)"));
  }

  absl::Status ReadPreTokenizer(const Json& value, const std::string& path,
                                std::vector<PreTokenizerStep>* out) const {
    absl::StatusOr<std::string> type = ReadType(value, path);
    if (!type.ok()) return type.status();
    if (*type == "Sequence") {
      const Json* list = Find(value, "pretokenizers");
      if (list == nullptr || !list->is_array()) {
        return Invalid(Field(path, "pretokenizers"), "must be an array");
      }
      for (size_t i = 0; i < list->size(); ++i) {
        absl::Status status =
            ReadPreTokenizer((*list)[i], Index(Field(path, "pretokenizers"), i), out);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    }
    PreTokenizerStep step;
    if (*type == "Metaspace") {
      step.kind = PreTokenizerStep::Kind::kMetaspace;
      absl::Status status = ReadMetaspace(value, path, &step.replacement, &step.prepend, &step.metaspace_split);
      if (!status.ok()) return status;
      absl::StatusOr<std::unique_ptr<RegexSplitter>> splitter = RegexSplitter::FromLiteral(step.replacement);
      if (!splitter.ok()) return splitter.status();
      step.splitter = *std::move(splitter);
      out->push_back(std::move(step));
      return absl::OkStatus();
    }
    if (*type == "Digits") {
      // tokenizers' Digits: numeric characters (char::is_numeric: Nd, Nl, No) split off, each
      // alone (individual_digits) or in runs; the Split step with \p{N} does the same.
      bool individual = false;
      if (absl::Status s = ReadBool(value, path, "individual_digits", false, &individual); !s.ok()) {
        return s;
      }
      absl::StatusOr<std::unique_ptr<RegexSplitter>> splitter = RegexSplitter::FromOniguruma("\\p{N}");
      if (!splitter.ok()) return splitter.status();  // cannot happen: the pattern is fixed
      step.kind = PreTokenizerStep::Kind::kSplit;
      step.splitter = *std::move(splitter);
      step.behavior = individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous;
      out->push_back(std::move(step));
      return absl::OkStatus();
    }
    if (*type == "ByteLevel") {
      step.kind = PreTokenizerStep::Kind::kByteLevel;
      bool use_regex = true;
      absl::Status status = ReadBool(value, path, "add_prefix_space", true, &step.add_prefix_space);
      if (!status.ok()) return status;
      if (!(status = ReadBool(value, path, "use_regex", true, &use_regex)).ok()) return status;
      if (use_regex) {
        absl::StatusOr<std::unique_ptr<RegexSplitter>> splitter =
            RegexSplitter::FromOniguruma(kGpt2Pattern);
        if (!splitter.ok()) return splitter.status();  // cannot happen: the pattern is fixed
        step.splitter = *std::move(splitter);
      }
      out->push_back(std::move(step));
      return absl::OkStatus();
    }
    if (*type != "Split") {
      return Unsupported(
          Field(path, "type"),
          absl::StrCat("\"", *type,
                       "\" is not supported (only ByteLevel, Digits, Metaspace, Split and Sequence)"));
    }
    step.kind = PreTokenizerStep::Kind::kSplit;
    const std::string pattern_field = Field(path, "pattern");
    const Json* pattern = Find(value, "pattern");
    if (pattern == nullptr || !pattern->is_object() || pattern->size() != 1 ||
        !pattern->begin()->is_string() ||
        (pattern->begin().key() != "Regex" && pattern->begin().key() != "String")) {
      return Invalid(pattern_field, "must be {\"Regex\": \"...\"} or {\"String\": \"...\"}");
    }
    const std::string& text = pattern->begin()->get_ref<const std::string&>();
    const bool is_regex = pattern->begin().key() == "Regex";
    absl::StatusOr<std::unique_ptr<RegexSplitter>> splitter =
        is_regex ? RegexSplitter::FromOniguruma(text) : RegexSplitter::FromLiteral(text);
    if (!splitter.ok()) {
      return absl::Status(
          splitter.status().code(),
          absl::StrCat(source_, ": ", pattern_field, ".", is_regex ? "Regex" : "String", " /", text,
                       "/ ", splitter.status().message()));
    }
    step.splitter = *std::move(splitter);
    const Json* behavior = Find(value, "behavior");
    static const std::pair<const char*, SplitBehavior> kBehaviors[] = {
        {"Removed", SplitBehavior::kRemoved},
        {"Isolated", SplitBehavior::kIsolated},
        {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
        {"MergedWithNext", SplitBehavior::kMergedWithNext},
        {"Contiguous", SplitBehavior::kContiguous}};
    bool known = false;
    for (const auto& [name, b] : kBehaviors) {
      if (behavior != nullptr && behavior->is_string() &&
          behavior->get_ref<const std::string&>() == name) {
        step.behavior = b;
        known = true;
      }
    }
    if (!known) {
      return Invalid(Field(path, "behavior"),
                     "must be one of Removed, Isolated, MergedWithPrevious, MergedWithNext, "
                     "Contiguous");
    }
    absl::Status status = ReadBool(value, path, "invert", false, &step.invert);
    if (!status.ok()) return status;
    out->push_back(std::move(step));
    return absl::OkStatus();
  }

  absl::Status ReadPostProcessor(const Json& value, const std::string& path,
                                 std::vector<Template>* out) const {
    absl::StatusOr<std::string> type = ReadType(value, path);
    if (!type.ok()) return type.status();
    if (*type == "ByteLevel") return absl::OkStatus();  // it only adjusts offsets
    if (*type == "Sequence") {
      const Json* list = Find(value, "processors");
      if (list == nullptr || !list->is_array()) {
        return Invalid(Field(path, "processors"), "must be an array");
      }
      for (size_t i = 0; i < list->size(); ++i) {
        absl::Status status =
            ReadPostProcessor((*list)[i], Index(Field(path, "processors"), i), out);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    }
    if (*type != "TemplateProcessing") {
      return Unsupported(Field(path, "type"),
                         absl::StrCat("\"", *type,
                                      "\" is not supported (only TemplateProcessing, ByteLevel "
                                      "and Sequence)"));
    }
    const std::string single_field = Field(path, "single");
    const Json* single = Find(value, "single");
    if (single == nullptr || !single->is_array()) return Invalid(single_field, "must be an array");
    const Json* special_tokens = Find(value, "special_tokens");
    if (special_tokens != nullptr && !special_tokens->is_object()) {
      return Invalid(Field(path, "special_tokens"), "must be an object");
    }
    Template result;
    for (size_t i = 0; i < single->size(); ++i) {
      const Json& piece = (*single)[i];
      const std::string field = Index(single_field, i);
      if (!piece.is_object() || piece.size() != 1) {
        return Invalid(field, "must be {\"SpecialToken\": {...}} or {\"Sequence\": {...}}");
      }
      const std::string& kind = piece.begin().key();
      const Json& body = *piece.begin();
      const Json* id = body.is_object() ? Find(body, "id") : nullptr;
      if (id == nullptr || !id->is_string()) {
        return Invalid(absl::StrCat(field, ".", kind, ".id"), "must be a string");
      }
      const std::string& name = id->get_ref<const std::string&>();
      TemplatePiece template_piece;
      if (kind == "Sequence") {
        if (name != "A") {
          return Unsupported(absl::StrCat(field, ".Sequence.id"),
                             absl::StrCat("\"", name, "\" is not supported in `single` (only A)"));
        }
        template_piece.is_sequence = true;
      } else if (kind == "SpecialToken") {
        const Json* entry =
            special_tokens == nullptr ? nullptr : Find(*special_tokens, name.c_str());
        if (entry == nullptr) {
          return Invalid(field, absl::StrCat("names \"", name, "\", which is not in ",
                                             Field(path, "special_tokens")));
        }
        const std::string ids_field =
            absl::StrCat(Field(path, "special_tokens"), "[\"", name, "\"].ids");
        const Json* ids = entry->is_object() ? Find(*entry, "ids") : nullptr;
        if (ids == nullptr || !ids->is_array()) return Invalid(ids_field, "must be an array");
        for (const Json& token_id : *ids) {
          if (!token_id.is_number_integer() || token_id.get<int64_t>() < 0 ||
              token_id.get<int64_t>() > kMaxTokenId) {
            return Invalid(ids_field, absl::StrCat("must hold ids in [0, ", kMaxTokenId, "]"));
          }
          template_piece.ids.push_back(static_cast<int32_t>(token_id.get<int64_t>()));
        }
      } else {
        return Invalid(field, "must be {\"SpecialToken\": {...}} or {\"Sequence\": {...}}");
      }
      result.push_back(std::move(template_piece));
    }
    out->push_back(std::move(result));
    return absl::OkStatus();
  }

  absl::Status ReadDecoder(const Json& value, const std::string& path,
                           std::vector<DecoderStep>* out) const {
    absl::StatusOr<std::string> type = ReadType(value, path);
    if (!type.ok()) return type.status();
    DecoderStep step;
    if (*type == "ByteLevel") {
      step.kind = DecoderStep::Kind::kByteLevel;
      out->push_back(step);
    } else if (*type == "Fuse") {
      out->push_back(step);
    } else if (*type == "ByteFallback") {
      step.kind = DecoderStep::Kind::kByteFallback;
      out->push_back(step);
    } else if (*type == "Replace") {
      step.kind = DecoderStep::Kind::kReplace;
      if (absl::Status status = ReadReplace(value, path, &step.pattern, &step.content); !status.ok()) {
        return status;
      }
      out->push_back(step);
    } else if (*type == "Strip") {
      step.kind = DecoderStep::Kind::kStrip;
      const Json* content = Find(value, "content");
      if (content == nullptr || !content->is_string() || content->get<std::string>().empty()) {
        return Invalid(Field(path, "content"), "must be a character");
      }
      step.pattern = content->get<std::string>();
      for (const auto& [key, target] : {std::pair{"start", &step.start}, std::pair{"stop", &step.stop}}) {
        const Json* n = Find(value, key);
        if (n == nullptr || !n->is_number_unsigned()) return Invalid(Field(path, key), "must be a count");
        *target = n->get<size_t>();
      }
      out->push_back(step);
    } else if (*type == "Metaspace") {
      step.kind = DecoderStep::Kind::kMetaspace;
      PreTokenizerStep::Prepend prepend = PreTokenizerStep::Prepend::kAlways;
      bool split = true;
      if (absl::Status status = ReadMetaspace(value, path, &step.pattern, &prepend, &split); !status.ok()) {
        return status;
      }
      step.prepend = prepend != PreTokenizerStep::Prepend::kNever;
      out->push_back(step);
    } else if (*type == "Sequence") {
      const Json* list = Find(value, "decoders");
      if (list == nullptr || !list->is_array()) {
        return Invalid(Field(path, "decoders"), "must be an array");
      }
      for (size_t i = 0; i < list->size(); ++i) {
        absl::Status status = ReadDecoder((*list)[i], Index(Field(path, "decoders"), i), out);
        if (!status.ok()) return status;
      }
    } else {
      return Unsupported(
          Field(path, "type"),
          absl::StrCat("\"", *type,
                       "\" is not supported (only ByteLevel, ByteFallback, Fuse, Metaspace, "
                       "Replace, Strip and Sequence)"));
    }
    return absl::OkStatus();
  }

  // Replace's literal pattern ({"String": "..."}; a Regex pattern is refused) and content.
  absl::Status ReadReplace(const Json& value, const std::string& path, std::string* pattern,
                           std::string* content) const {
    const Json* p = Find(value, "pattern");
    if (p == nullptr || !p->is_object() || p->size() != 1 || !p->begin()->is_string()) {
      return Invalid(Field(path, "pattern"), "must be {\"String\": \"...\"}");
    }
    if (p->begin().key() != "String") {
      return Unsupported(Field(path, "pattern"), "only a String pattern is supported, not a Regex");
    }
    *pattern = p->begin()->get<std::string>();
    const Json* c = Find(value, "content");
    if (c == nullptr || !c->is_string()) return Invalid(Field(path, "content"), "must be a string");
    *content = c->get<std::string>();
    return absl::OkStatus();
  }

  // Metaspace's replacement, prepend_scheme (or the older add_prefix_space) and split.
  absl::Status ReadMetaspace(const Json& value, const std::string& path, std::string* replacement,
                             PreTokenizerStep::Prepend* prepend, bool* split) const {
    const Json* r = Find(value, "replacement");
    if (r == nullptr || !r->is_string() || r->get<std::string>().empty() ||
        CharLengthAt(r->get_ref<const std::string&>(), 0) != r->get_ref<const std::string&>().size()) {
      return Invalid(Field(path, "replacement"), "must be one character");
    }
    *replacement = r->get<std::string>();
    if (const Json* scheme = Find(value, "prepend_scheme")) {
      const std::string name = scheme->is_string() ? scheme->get<std::string>() : "";
      if (name == "always") {
        *prepend = PreTokenizerStep::Prepend::kAlways;
      } else if (name == "first") {
        *prepend = PreTokenizerStep::Prepend::kFirst;
      } else if (name == "never") {
        *prepend = PreTokenizerStep::Prepend::kNever;
      } else {
        return Invalid(Field(path, "prepend_scheme"), "must be \"always\", \"first\" or \"never\"");
      }
    } else {
      bool add_prefix_space = true;
      if (absl::Status s = ReadBool(value, path, "add_prefix_space", true, &add_prefix_space); !s.ok()) {
        return s;
      }
      *prepend = add_prefix_space ? PreTokenizerStep::Prepend::kAlways : PreTokenizerStep::Prepend::kNever;
    }
    return ReadBool(value, path, "split", true, split);
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

}  // namespace star::tokenizer_internal

#endif  // STAR_MODEL_TOKENIZER_JSON_H_
