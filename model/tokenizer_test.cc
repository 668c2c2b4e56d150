#include "model/tokenizer.h"

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace star {
namespace {

using Json = nlohmann::json;

// The character GPT-2's byte-level alphabet uses for `byte`, as UTF-8.
std::string ByteChar(int byte) {
  int shifted = 0;
  int code_point = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable =
        (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const int c = printable ? b : 256 + shifted++;
    if (b == byte) code_point = c;
  }
  std::string out;
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
  return out;
}

std::string Utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
  return out;
}

Json AddedTokenJson(int id, const std::string& content, bool special, bool lstrip = false,
                    bool rstrip = false) {
  return {{"id", id},         {"content", content},  {"single_word", false}, {"lstrip", lstrip},
          {"rstrip", rstrip}, {"normalized", false}, {"special", special}};
}

// A tokenizer.json as `tokenizers` writes it, with a BPE model and nothing else.
Json BaseConfig(Json vocab, Json merges) {
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", Json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", std::move(vocab)},
            {"merges", std::move(merges)}}}};
}

// GPT-2's pre-tokenizer and decoder.
void MakeByteLevel(Json& config) {
  config["pre_tokenizer"] = {{"type", "ByteLevel"},
                             {"add_prefix_space", false},
                             {"trim_offsets", true},
                             {"use_regex", true}};
  config["decoder"] = {{"type", "ByteLevel"},
                       {"add_prefix_space", true},
                       {"trim_offsets", true},
                       {"use_regex", true}};
}

// A byte-level BPE small enough to check by hand. Ids:
//   0 h, 1 e, 2 l, 3 o, 4 Ġ, 5 w, 6 r, 7 d, 8 a, 9 b,
//   10 he, 11 ll, 12 hell, 13 lo, 14 Ġw, 15 or, 16 ĠĠ, 17 Ġb
// and merges by rank: h e, l l, l o, he ll, Ġ w, o r, Ġ Ġ, Ġ b.
Json TinyByteLevelConfig() {
  Json vocab = {{"h", 0},     {"e", 1},   {"l", 2},   {"o", 3},   {"Ġ", 4},   {"w", 5},
                {"r", 6},     {"d", 7},   {"a", 8},   {"b", 9},   {"he", 10}, {"ll", 11},
                {"hell", 12}, {"lo", 13}, {"Ġw", 14}, {"or", 15}, {"ĠĠ", 16}, {"Ġb", 17}};
  Json merges = {"h e", "l l", "l o", "he ll", "Ġ w", "o r", "Ġ Ġ", "Ġ b"};
  Json config = BaseConfig(std::move(vocab), std::move(merges));
  MakeByteLevel(config);
  return config;
}

// Every byte as a token (id = byte value), as a byte-level model's base alphabet.
Json FullByteLevelConfig() {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteChar(b)] = b;
  Json config = BaseConfig(std::move(vocab), Json::array());
  MakeByteLevel(config);
  return config;
}

Tokenizer Load(const Json& config) {
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromJson(config.dump(), "tokenizer.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return std::move(tokenizer).value();
}

absl::Status LoadError(const Json& config) {
  return Tokenizer::FromJson(config.dump(), "tokenizer.json").status();
}

::testing::AssertionResult IsError(const absl::Status& status, absl::StatusCode code,
                                   const std::string& fragment) {
  if (status.code() == code && absl::StrContains(status.message(), fragment)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << status << ", want " << absl::StatusCodeToString(code) << " containing \""
         << fragment << "\"";
}

// Random text over many blocks of Unicode (no surrogates), with runs of whitespace.
std::string RandomUnicode(std::mt19937& rng, int length) {
  static const std::pair<char32_t, char32_t> kRanges[] = {
      {0x20, 0x7E},       {0x09, 0x0D},        {0xA0, 0x24F},      {0x300, 0x36F},
      {0x370, 0x52F},     {0x590, 0x6FF},      {0x900, 0x97F},     {0xE00, 0xE7F},
      {0x1100, 0x11FF},   {0x2000, 0x206F},    {0x2190, 0x27BF},   {0x3000, 0x30FF},
      {0x4E00, 0x9FFF},   {0xAC00, 0xD7A3},    {0xE000, 0xE0FF},   {0xFF00, 0xFFFD},
      {0x10000, 0x1007F}, {0x1D400, 0x1D7FF},  {0x1F300, 0x1F6FF}, {0x20000, 0x2A6DF},
      {0xE0000, 0xE007F}, {0x10FFF0, 0x10FFFF}};
  std::string out;
  for (int i = 0; i < length; ++i) {
    const auto& [low, high] = kRanges[rng() % std::size(kRanges)];
    out += Utf8(low + static_cast<char32_t>(rng() % (high - low + 1)));
  }
  return out;
}

// --- Byte-level BPE -----------------------------------------------------------------------------

TEST(TokenizerTest, ByteLevelBpeMergesByRank) {
  Tokenizer tokenizer = Load(TinyByteLevelConfig());
  // hello: "h e" (rank 0), then "l l" (1); "l o" (2) is then stale; "he ll" (3) makes hell.
  EXPECT_EQ(tokenizer.Encode("hello"), (std::vector<int32_t>{12, 3}));
  // " world" is one pre-token, Ġworld: "Ġ w" and "o r" apply, "r l" and "l d" are no merges.
  EXPECT_EQ(tokenizer.Encode("hello world"), (std::vector<int32_t>{12, 3, 14, 15, 2, 7}));
  EXPECT_EQ(tokenizer.vocab_size(), 18);
  absl::StatusOr<std::string> text = tokenizer.Decode({12, 3, 14, 15, 2, 7});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "hello world");
}

TEST(TokenizerTest, LowerRankedMergeWinsWhenMergesOverlap) {
  Json config = TinyByteLevelConfig();
  // Now "l o" outranks "l l": h e | l | lo, and "he l" is no merge.
  config["model"]["merges"] = {"h e", "l o", "l l", "he ll"};
  Tokenizer tokenizer = Load(config);
  EXPECT_EQ(tokenizer.Encode("hello"), (std::vector<int32_t>{10, 2, 13}));
}

TEST(TokenizerTest, MergesAcceptThePairForm) {
  Json config = TinyByteLevelConfig();
  config["model"]["merges"] = Json::array();
  for (const char* merge : {"h e", "l l", "l o", "he ll"}) {
    const std::string text = merge;
    const size_t space = text.find(' ');
    config["model"]["merges"].push_back({text.substr(0, space), text.substr(space + 1)});
  }
  EXPECT_EQ(Load(config).Encode("hello"), (std::vector<int32_t>{12, 3}));
}

TEST(TokenizerTest, TrailingWhitespaceRunLeavesItsLastSpaceToTheNextWord) {
  Tokenizer tokenizer = Load(TinyByteLevelConfig());
  // GPT-2's `\s+(?!\S)`: "a", "  ", " b" (so "Ġ b" merges); at the end the run stays whole.
  EXPECT_EQ(tokenizer.Encode("a   b"), (std::vector<int32_t>{8, 16, 17}));
  EXPECT_EQ(tokenizer.Encode("a  "), (std::vector<int32_t>{8, 16}));
  EXPECT_EQ(tokenizer.Encode("a b"), (std::vector<int32_t>{8, 17}));
}

TEST(TokenizerTest, AddPrefixSpaceAppliesToEachTextSegment) {
  Json config = TinyByteLevelConfig();
  config["pre_tokenizer"]["add_prefix_space"] = true;
  Tokenizer tokenizer = Load(config);
  EXPECT_EQ(tokenizer.Encode("b"), (std::vector<int32_t>{17}));
  EXPECT_EQ(tokenizer.Encode(" b"), (std::vector<int32_t>{17}));
  EXPECT_EQ(tokenizer.Encode(""), (std::vector<int32_t>{}));
}

TEST(TokenizerTest, IgnoreMergesTakesWholeVocabEntries) {
  Json config = TinyByteLevelConfig();
  config["model"]["merges"] = Json::array();
  EXPECT_EQ(Load(config).Encode("hell"), (std::vector<int32_t>{0, 1, 2, 2}));
  config["model"]["ignore_merges"] = true;
  EXPECT_EQ(Load(config).Encode("hell"), (std::vector<int32_t>{12}));
}

TEST(TokenizerTest, ByteLevelRoundTripsRandomUnicode) {
  Tokenizer tokenizer = Load(FullByteLevelConfig());
  std::mt19937 rng(42);
  for (int i = 0; i < 500; ++i) {
    const std::string text = RandomUnicode(rng, 1 + static_cast<int>(rng() % 40));
    absl::StatusOr<std::string> decoded = tokenizer.Decode(tokenizer.Encode(text));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_EQ(*decoded, text);
  }
}

TEST(TokenizerTest, ByteLevelKeepsEveryByteOfInvalidUtf8Input) {
  // tokenizers cannot take such text at all; here no byte is lost: each becomes its byte token
  // (this vocab has no merges).
  Tokenizer tokenizer = Load(FullByteLevelConfig());
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    std::string bytes;
    const int length = 1 + static_cast<int>(rng() % 30);
    for (int j = 0; j < length; ++j) bytes.push_back(static_cast<char>(rng() % 256));
    const std::vector<int32_t> ids = tokenizer.Encode(bytes);
    ASSERT_EQ(ids.size(), bytes.size());
    for (size_t j = 0; j < ids.size(); ++j) {
      ASSERT_EQ(ids[j], static_cast<unsigned char>(bytes[j]));
    }
  }
}

TEST(TokenizerTest, ByteLevelDecodeReplacesInvalidUtf8LikeFromUtf8Lossy) {
  Tokenizer tokenizer = Load(FullByteLevelConfig());
  const std::string kReplacement = "\xEF\xBF\xBD";
  // A cut-short 中 (E4 B8 AD) is one U+FFFD.
  EXPECT_EQ(*tokenizer.Decode({0xE4, 0xB8, 'A'}), kReplacement + "A");
  // F0 80: 80 cannot follow F0, so each byte is its own U+FFFD.
  EXPECT_EQ(*tokenizer.Decode({0xF0, 0x80, 'x'}), kReplacement + kReplacement + "x");
  // An encoded surrogate (ED A0 80) is three.
  EXPECT_EQ(*tokenizer.Decode({0xED, 0xA0, 0x80}), kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(*tokenizer.Decode({0xE4, 0xB8, 0xAD}), "中");
}

TEST(TokenizerTest, ByteLevelRegexTreatsUnicodeSpacesAsWhitespace) {
  // With an ASCII-only \s, U+3000 U+3000 would be one "other" run; as tokenizers does it, it
  // is whitespace: "a", U+3000 (the run less its last), U+3000, "b". A merge across the two
  // U+3000 (bytes E3 80 80 E3 80 80) must therefore never apply.
  Json config = FullByteLevelConfig();
  const std::string end_start = ByteChar(0x80) + ByteChar(0xE3);
  config["model"]["vocab"][end_start] = 256;
  config["model"]["merges"] = {ByteChar(0x80) + " " + ByteChar(0xE3)};
  Tokenizer tokenizer = Load(config);
  EXPECT_EQ(tokenizer.Encode("a\u3000\u3000b"),
            (std::vector<int32_t>{'a', 0xE3, 0x80, 0x80, 0xE3, 0x80, 0x80, 'b'}));
  // At the end of the text the run stays one piece, and the merge applies.
  EXPECT_EQ(tokenizer.Encode("\u3000\u3000"), (std::vector<int32_t>{0xE3, 0x80, 256, 0x80, 0x80}));
}

// --- Added tokens and post-processing ------------------------------------------------------------

Json TinyWithAddedTokens() {
  Json config = TinyByteLevelConfig();
  // The ids in the file are not trusted, as in tokenizers: these become 18 and 19.
  config["added_tokens"] = {AddedTokenJson(50256, "<|endoftext|>", true),
                            AddedTokenJson(7, "<mask>", true, /*lstrip=*/true, /*rstrip=*/true)};
  return config;
}

TEST(TokenizerTest, SpecialTokensSplitTheTextAndGetIdsAfterTheVocab) {
  Tokenizer tokenizer = Load(TinyWithAddedTokens());
  EXPECT_EQ(tokenizer.vocab_size(), 20);
  EXPECT_EQ(tokenizer.SpecialTokenId("<|endoftext|>"), 18);
  EXPECT_EQ(tokenizer.TokenToId("<mask>"), 19);
  EXPECT_EQ(tokenizer.TokenToId("hell"), 12);
  EXPECT_EQ(tokenizer.TokenToId("nope"), std::nullopt);
  EXPECT_EQ(tokenizer.IdToToken(18), "<|endoftext|>");
  EXPECT_TRUE(tokenizer.IsSpecialToken(18));
  EXPECT_FALSE(tokenizer.IsSpecialToken(12));
  EXPECT_EQ(tokenizer.Encode("hello<|endoftext|> world"),
            (std::vector<int32_t>{12, 3, 18, 14, 15, 2, 7}));
  EXPECT_EQ(tokenizer.Encode("<|endoftext|><|endoftext|>"), (std::vector<int32_t>{18, 18}));
  // An incomplete special token is ordinary text: "<|" and "endoftext", in which only e, d, o
  // and e are in this vocab (the others vanish, as there is no unk_token).
  EXPECT_EQ(tokenizer.Encode("<|endoftext"), (std::vector<int32_t>{1, 7, 3, 1}));
  EXPECT_EQ(*tokenizer.Decode({12, 3, 18, 14, 15, 2, 7}), "hello<|endoftext|> world");
  EXPECT_EQ(*tokenizer.Decode({12, 3, 18, 14, 15, 2, 7}, /*skip_special_tokens=*/true),
            "hello world");
}

TEST(TokenizerTest, LstripAndRstripAbsorbTheSurroundingSpaces) {
  Tokenizer tokenizer = Load(TinyWithAddedTokens());
  EXPECT_EQ(tokenizer.Encode("a <mask> b"), (std::vector<int32_t>{8, 19, 9}));
  Json config = TinyWithAddedTokens();
  config["added_tokens"][1]["lstrip"] = false;
  config["added_tokens"][1]["rstrip"] = false;
  // "a " then " b": "a", "Ġ" and "Ġb".
  EXPECT_EQ(Load(config).Encode("a <mask> b"), (std::vector<int32_t>{8, 4, 19, 17}));
}

TEST(TokenizerTest, AddedTokenInTheVocabKeepsItsVocabId) {
  Json config = TinyByteLevelConfig();
  config["added_tokens"] = {AddedTokenJson(99, "hell", false), AddedTokenJson(99, "<s>", true)};
  Tokenizer tokenizer = Load(config);
  EXPECT_EQ(tokenizer.TokenToId("hell"), 12);
  EXPECT_EQ(tokenizer.TokenToId("<s>"), 18);
  // "hell" is split off before the pre-tokenizer sees the text.
  EXPECT_EQ(tokenizer.Encode("shello"), (std::vector<int32_t>{12, 3}));
}

TEST(TokenizerTest, TemplateProcessingAddsSpecialTokensOnRequest) {
  Json config = TinyWithAddedTokens();
  config["post_processor"] = {
      {"type", "Sequence"},
      {"processors",
       {{{"type", "ByteLevel"},
         {"add_prefix_space", true},
         {"trim_offsets", false},
         {"use_regex", true}},
        {{"type", "TemplateProcessing"},
         {"single",
          {{{"SpecialToken", {{"id", "<|endoftext|>"}, {"type_id", 0}}}},
           {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
         {"pair", Json::array()},
         {"special_tokens",
          {{"<|endoftext|>",
            {{"id", "<|endoftext|>"}, {"ids", {18}}, {"tokens", {"<|endoftext|>"}}}}}}}}}};
  Tokenizer tokenizer = Load(config);
  EXPECT_EQ(tokenizer.Encode("hello", /*add_special_tokens=*/true),
            (std::vector<int32_t>{18, 12, 3}));
  EXPECT_EQ(tokenizer.Encode("hello"), (std::vector<int32_t>{12, 3}));
}

// --- A character vocabulary --------------------------------------------------------------------

Json CharConfig() {
  Json config = BaseConfig(
      {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"c", 3}, {" ", 4}, {"é", 5}, {"中", 6}}, Json::array());
  config["model"]["unk_token"] = "<unk>";
  config["decoder"] = {{"type", "Fuse"}};
  config["added_tokens"] = {AddedTokenJson(0, "<pad>", true), AddedTokenJson(1, "<s>", true),
                            AddedTokenJson(2, "</s>", true)};
  return config;
}

TEST(TokenizerTest, CharacterVocabularyGivesOneIdPerCharacter) {
  Tokenizer tokenizer = Load(CharConfig());
  EXPECT_EQ(tokenizer.vocab_size(), 10);
  EXPECT_EQ(tokenizer.unk_token_id(), 0);
  EXPECT_EQ(tokenizer.Encode("ab c"), (std::vector<int32_t>{1, 2, 4, 3}));
  EXPECT_EQ(tokenizer.Encode("aé中"), (std::vector<int32_t>{1, 5, 6}));
  EXPECT_EQ(tokenizer.Encode("<s>abc</s>"), (std::vector<int32_t>{8, 1, 2, 3, 9}));
  EXPECT_EQ(*tokenizer.Decode({8, 1, 5, 6, 9}), "<s>aé中</s>");
  EXPECT_EQ(*tokenizer.Decode({8, 1, 5, 6, 9}, /*skip_special_tokens=*/true), "aé中");
}

TEST(TokenizerTest, UnknownCharactersBecomeUnkOrVanishWithoutOne) {
  Json config = CharConfig();
  EXPECT_EQ(Load(config).Encode("azzb"), (std::vector<int32_t>{1, 0, 0, 2}));
  config["model"]["fuse_unk"] = true;
  EXPECT_EQ(Load(config).Encode("azzb"), (std::vector<int32_t>{1, 0, 2}));
  config["model"]["unk_token"] = nullptr;
  EXPECT_EQ(Load(config).Encode("azzb"), (std::vector<int32_t>{1, 2}));
}

TEST(TokenizerTest, WithoutDecoderTokensAreJoinedWithSpaces) {
  Json config = CharConfig();
  config["decoder"] = nullptr;
  EXPECT_EQ(*Load(config).Decode({1, 2, 8}), "a b <s>");
}

// --- Errors -----------------------------------------------------------------------------------

TEST(TokenizerTest, DecodeRejectsIdsWithoutAToken) {
  Json config = CharConfig();
  config["model"]["vocab"]["z"] = 20;  // the added tokens get 8..10; 11..19 are holes
  Tokenizer tokenizer = Load(config);
  EXPECT_TRUE(IsError(tokenizer.Decode({1, 21}).status(), absl::StatusCode::kOutOfRange,
                      "token id 21 is out of range [0, 21)"));
  EXPECT_TRUE(IsError(tokenizer.Decode({-1}).status(), absl::StatusCode::kOutOfRange,
                      "token id -1 is out of range"));
  EXPECT_TRUE(IsError(tokenizer.Decode({12}).status(), absl::StatusCode::kInvalidArgument,
                      "token id 12 is not assigned to any token"));
}

TEST(TokenizerTest, MalformedJsonNamesThePosition) {
  absl::Status status = Tokenizer::FromJson("{\"model\": [1, 2,}", "tokenizer.json").status();
  EXPECT_TRUE(IsError(status, absl::StatusCode::kInvalidArgument,
                      "tokenizer.json: invalid JSON: parse error at line 1, column 17"));
  EXPECT_TRUE(IsError(Tokenizer::FromJson("[]", "tokenizer.json").status(),
                      absl::StatusCode::kInvalidArgument, "tokenizer.json: is not a JSON object"));
  // A number too large for a double (found by tokenizer_fuzzer: it used to escape as an
  // exception and abort the process).
  EXPECT_TRUE(IsError(Tokenizer::FromJson("[1" + std::string(400, '0') + "]", "tokenizer.json")
                          .status(),
                      absl::StatusCode::kInvalidArgument, "tokenizer.json: invalid JSON: number overflow"));
}

TEST(TokenizerTest, UnsupportedModelTypeIsNamed) {
  Json config = CharConfig();
  config["model"]["type"] = "WordPiece";
  EXPECT_EQ(LoadError(config),
            absl::UnimplementedError(
                "tokenizer.json: model.type \"WordPiece\" is not supported (only BPE)"));
}

TEST(TokenizerTest, MergeOutsideTheVocabIsNamed) {
  Json config = TinyByteLevelConfig();
  config["model"]["merges"] = {"h e", "e q"};
  EXPECT_EQ(LoadError(config),
            absl::InvalidArgumentError(
                "tokenizer.json: model.merges[1] names \"q\", which is not in model.vocab"));
  config["model"]["merges"] = {"a b"};
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kInvalidArgument,
                      "model.merges[0] makes \"ab\", which is not in model.vocab"));
  config["model"]["merges"] = {"h e l"};
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kInvalidArgument,
                      "model.merges[0] \"h e l\" is not two tokens separated by a space"));
  config["model"]["merges"] = {"h e", Json::array({"l", "l"})};
  EXPECT_TRUE(
      IsError(LoadError(config), absl::StatusCode::kInvalidArgument, "model.merges[1] mixes the"));
}

TEST(TokenizerTest, BadVocabEntriesAreNamed) {
  Json config = CharConfig();
  config["model"]["vocab"]["x"] = -3;
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kInvalidArgument,
                      "tokenizer.json: model.vocab[\"x\"] must be an integer id"));
  config = CharConfig();
  config["model"]["vocab"]["x"] = 2;
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kInvalidArgument, "reuses id 2"));
  config = CharConfig();
  config["model"]["unk_token"] = "<oov>";
  EXPECT_EQ(LoadError(config),
            absl::InvalidArgumentError(
                "tokenizer.json: model.unk_token \"<oov>\" is not in model.vocab"));
  config = CharConfig();
  config["model"].erase("vocab");
  EXPECT_EQ(LoadError(config),
            absl::InvalidArgumentError("tokenizer.json: model.vocab is missing"));
}

TEST(TokenizerTest, UnsupportedModelOptionsAreNamed) {
  Json config = CharConfig();
  config["model"]["continuing_subword_prefix"] = "##";
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kUnimplemented,
                      "model.continuing_subword_prefix \"##\" is not supported"));
  config = CharConfig();
  config["model"]["dropout"] = 0.1;
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kUnimplemented,
                      "model.dropout must be null or 0"));
  config = CharConfig();
  config["model"]["fuse_unk"] = "yes";
  EXPECT_EQ(LoadError(config),
            absl::InvalidArgumentError("tokenizer.json: model.fuse_unk must be true or false"));
}

TEST(TokenizerTest, UnsupportedComponentsAreNamed) {
  Json config = CharConfig();
  config["normalizer"] = {{"type", "NFKC"}};
  EXPECT_EQ(LoadError(config),
            absl::UnimplementedError("tokenizer.json: normalizer.type \"NFKC\" is not supported "
                                     "(only NFC, NFD, Prepend, Replace and Sequence)"));
  config = CharConfig();
  config["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Regex", " +"}}}, {"content", "_"}};
  EXPECT_EQ(LoadError(config),
            absl::UnimplementedError("tokenizer.json: normalizer.pattern only a String pattern is "
                                     "supported, not a Regex"));
  config = CharConfig();
  config["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Whitespace"}}}}};
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kUnimplemented,
                      "pre_tokenizer.pretokenizers[0].type \"Whitespace\" is not supported"));
  config = CharConfig();
  config["decoder"] = {{"type", "WordPiece"}};
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kUnimplemented,
                      "decoder.type \"WordPiece\" is not supported"));
  config = CharConfig();
  config["post_processor"] = {{"type", "BertProcessing"}};
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kUnimplemented,
                      "post_processor.type \"BertProcessing\" is not supported"));
  config = CharConfig();
  config["truncation"] = {{"max_length", 512}};
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kUnimplemented,
                      "tokenizer.json: truncation must be null"));
  config = CharConfig();
  config["added_tokens"][1]["single_word"] = true;
  EXPECT_EQ(LoadError(config),
            absl::UnimplementedError(
                "tokenizer.json: added_tokens[1].single_word true is not supported"));
  config = CharConfig();
  config.erase("model");
  EXPECT_EQ(LoadError(config), absl::InvalidArgumentError("tokenizer.json: model is missing"));
}

TEST(TokenizerTest, SplitPatternsRE2CannotRunAreRefused) {
  Json config = CharConfig();
  config["pre_tokenizer"] = {{"type", "Split"},
                             {"pattern", {{"Regex", "a(?=b)"}}},
                             {"behavior", "Isolated"},
                             {"invert", false}};
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kUnimplemented,
                      "tokenizer.json: pre_tokenizer.pattern.Regex /a(?=b)/ lookahead (?= is not "
                      "supported"));
  config["pre_tokenizer"]["pattern"] = {{"Regex", "(a)\\1"}};
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kUnimplemented,
                      "backreferences are not supported"));
  config["pre_tokenizer"]["pattern"] = {{"Regex", "(ab"}};
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kInvalidArgument,
                      "pre_tokenizer.pattern.Regex /(ab/ does not compile: missing )"));
  config["pre_tokenizer"]["pattern"] = {{"Regex", "a"}};
  config["pre_tokenizer"]["behavior"] = "Sideways";
  EXPECT_TRUE(IsError(LoadError(config), absl::StatusCode::kInvalidArgument,
                      "pre_tokenizer.behavior must be one of"));
}

TEST(TokenizerTest, TemplateNamingAnUnknownSpecialTokenIsRefused) {
  Json config = CharConfig();
  config["post_processor"] = {{"type", "TemplateProcessing"},
                              {"single", {{{"SpecialToken", {{"id", "<bos>"}, {"type_id", 0}}}}}},
                              {"special_tokens", Json::object()}};
  EXPECT_EQ(LoadError(config),
            absl::InvalidArgumentError("tokenizer.json: post_processor.single[0] names \"<bos>\", "
                                       "which is not in post_processor.special_tokens"));
}

TEST(TokenizerTest, FromFileNamesAMissingFile) {
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile("/nonexistent/tokenizer.json");
  EXPECT_TRUE(IsError(tokenizer.status(), absl::StatusCode::kNotFound,
                      "/nonexistent/tokenizer.json: cannot open"));
}

TEST(TokenizerTest, FromFileReadsAFile) {
  const std::string path = ::testing::TempDir() + "/tokenizer_test_char.json";
  {
    std::ofstream out(path);
    out << CharConfig().dump();
  }
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile(path);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(tokenizer->Encode("cab"), (std::vector<int32_t>{3, 1, 2}));
}

// --- Concurrency ------------------------------------------------------------------------------

TEST(TokenizerTest, ConcurrentEncodesAgreeWithSequentialOnes) {
  Tokenizer tokenizer = Load(FullByteLevelConfig());
  std::mt19937 rng(7);
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back(RandomUnicode(rng, 30));
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& text : texts) expected.push_back(tokenizer.Encode(text));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          if (tokenizer.Encode(texts[i]) != expected[i]) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0, 0, 0}));
}

}  // namespace
}  // namespace star
