#include "model/llama_model.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "model/autocast_scope.h"
#include "model/cuda_devices.h"
#include "model/generation.h"
#include "model/safetensors.h"
#include "model/tokenizer.h"

namespace star {
namespace {

ModelConfig TinyConfig(bool qkv_bias = false, bool tied = false, int64_t kv_heads = 2) {
  ModelConfig c;
  c.model_type = qkv_bias ? "qwen2" : "llama";
  c.vocab_size = 44;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = kv_heads;
  c.head_dim = 8;
  c.max_position_embeddings = 128;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000;
  c.tie_word_embeddings = tied;
  c.qkv_bias = qkv_bias;
  c.eos_token_ids = {2};
  return c;
}

// A character tokenizer over a small alphabet: ids 0-2 are <pad>, <s>, </s>.
Tokenizer CharTokenizer() {
  std::string vocab = R"("<pad>":0,"<s>":1,"</s>":2)";
  const std::string chars = "abcdefghijklmnopqrstuvwxyz0123456789 +";
  for (size_t i = 0; i < chars.size(); ++i) {
    absl::StrAppend(&vocab, ",\"", std::string(1, chars[i]), "\":", i + 3);
  }
  std::string json = absl::StrCat(
      R"({"version":"1.0","truncation":null,"padding":null,"added_tokens":[)",
      R"({"id":0,"content":"<pad>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},)",
      R"({"id":1,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},)",
      R"({"id":2,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],)",
      R"("normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":{"type":"Fuse"},)",
      R"("model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,)",
      R"("end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":{)",
      vocab, R"(},"merges":[]}})");
  absl::StatusOr<Tokenizer> t = Tokenizer::FromJson(json, "char-tokenizer");
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(*t);
}

class LlamaModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("llama-test-", ::getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Dir(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

// Left-padded batch of prompts with different lengths: ids, positions, key_valid.
struct PaddedBatch {
  torch::Tensor ids, positions, valid;
};
PaddedBatch MakeBatch(const std::vector<std::vector<int64_t>>& rows) {
  int64_t len = 0;
  for (const auto& r : rows) len = std::max<int64_t>(len, r.size());
  int64_t b = static_cast<int64_t>(rows.size());
  PaddedBatch out{torch::zeros({b, len}, torch::kInt64), torch::zeros({b, len}, torch::kInt64),
                  torch::zeros({b, len}, torch::kBool)};
  for (int64_t i = 0; i < b; ++i) {
    int64_t pad = len - static_cast<int64_t>(rows[i].size());
    for (size_t t = 0; t < rows[i].size(); ++t) {
      out.ids[i][pad + t] = rows[i][t];
      out.valid[i][pad + t] = true;
      out.positions[i][pad + t] = static_cast<int64_t>(t);
    }
  }
  return out;
}

TEST_F(LlamaModelTest, CachedDecodingGivesTheLogitsOfAFullForwardPass) {
  for (bool qkv_bias : {false, true}) {
    std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(qkv_bias), 11);
    torch::NoGradGuard no_grad;
    // Three rows with prompt lengths 3, 7 and 5, followed by 6 decoded tokens each.
    PaddedBatch full = MakeBatch({{5, 6, 7, 8, 9, 10, 11, 12, 13},
                                  {4, 3, 5, 6, 7, 8, 9, 14, 15, 16, 17, 18, 19},
                                  {20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30}});
    const int64_t decode_steps = 6;
    torch::Tensor reference = model->Forward(full.ids, full.positions, full.valid, nullptr);

    const int64_t total = full.ids.size(1);
    const int64_t prompt = total - decode_steps;
    KvCache cache(model->config(), 3, total, torch::kFloat32, torch::kCPU);
    torch::Tensor logits = model->Forward(full.ids.narrow(1, 0, prompt),
                                          full.positions.narrow(1, 0, prompt),
                                          full.valid.narrow(1, 0, prompt), &cache);
    std::vector<torch::Tensor> steps = {logits};
    for (int64_t t = prompt; t < total; ++t) {
      steps.push_back(model->Forward(full.ids.narrow(1, t, 1), full.positions.narrow(1, t, 1),
                                     full.valid.narrow(1, 0, t + 1), &cache));
    }
    torch::Tensor incremental = torch::cat(steps, 1);
    // Compare at real (non-padding) positions only.
    torch::Tensor diff = (incremental - reference).abs().amax(-1).masked_select(full.valid);
    EXPECT_LT(diff.max().item<float>(), 1e-5) << "qkv_bias=" << qkv_bias;
    EXPECT_EQ(cache.length(), total);
  }
}

TEST_F(LlamaModelTest, PaddingDoesNotChangeARowsLogits) {
  std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(), 3);
  torch::NoGradGuard no_grad;
  std::vector<int64_t> row = {5, 9, 12, 7};
  PaddedBatch alone = MakeBatch({row});
  PaddedBatch padded = MakeBatch({row, {1, 2, 3, 4, 5, 6, 7, 8, 9}});
  torch::Tensor a = model->Forward(alone.ids, alone.positions, alone.valid, nullptr)[0];
  torch::Tensor b = model->Forward(padded.ids, padded.positions, padded.valid, nullptr)[0];
  torch::Tensor b_real = b.narrow(0, b.size(0) - 4, 4);
  EXPECT_LT((a - b_real).abs().max().item<float>(), 1e-5);
  EXPECT_FALSE(b.isnan().any().item<bool>()) << "padding queries produced NaN";
}

TEST_F(LlamaModelTest, GreedyGenerationIsTheSameAloneOrInABatch) {
  std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(), 5);
  Tokenizer tokenizer = CharTokenizer();
  std::vector<std::vector<int32_t>> prompts = {
      tokenizer.Encode("12+34"), tokenizer.Encode("7"), tokenizer.Encode("abc def ghi"),
      tokenizer.Encode("99+1"), tokenizer.Encode("hello world")};
  SamplingOptions options;
  options.max_new_tokens = 12;
  options.batch_size = 8;
  std::vector<Completion> batched = GenerateBatched(*model, tokenizer, prompts, options);
  ASSERT_EQ(batched.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<Completion> alone = GenerateBatched(*model, tokenizer, {prompts[i]}, options);
    EXPECT_EQ(alone[0].tokens, batched[i].tokens) << "prompt " << i;
    EXPECT_EQ(alone[0].text, batched[i].text);
  }
  // Batches of two (so rows finish and are dropped at different times) agree too.
  options.batch_size = 2;
  std::vector<Completion> small = GenerateBatched(*model, tokenizer, prompts, options);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(small[i].tokens, batched[i].tokens);
}

TEST_F(LlamaModelTest, CacheAndRecomputeGiveTheSameGreedyOutput) {
  std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(true), 9);
  Tokenizer tokenizer = CharTokenizer();
  std::vector<std::vector<int32_t>> prompts = {tokenizer.Encode("3+4"), tokenizer.Encode("abcdef")};
  SamplingOptions options;
  options.max_new_tokens = 16;
  std::vector<Completion> cached = GenerateBatched(*model, tokenizer, prompts, options);
  options.use_kv_cache = false;
  std::vector<Completion> recomputed = GenerateBatched(*model, tokenizer, prompts, options);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(cached[i].tokens, recomputed[i].tokens);
}

TEST_F(LlamaModelTest, SamplingIsDeterministicForASeedAndTopKOneIsGreedy) {
  std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(), 13);
  Tokenizer tokenizer = CharTokenizer();
  std::vector<std::vector<int32_t>> prompts(6, tokenizer.Encode("1+1"));
  SamplingOptions options;
  options.max_new_tokens = 20;
  options.temperature = 1.0;
  options.top_p = 0.95;
  options.seed = 42;
  std::vector<Completion> a = GenerateBatched(*model, tokenizer, prompts, options);
  std::vector<Completion> b = GenerateBatched(*model, tokenizer, prompts, options);
  bool rows_differ = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    rows_differ |= a[i].tokens != a[0].tokens;
  }
  EXPECT_TRUE(rows_differ) << "sampling at temperature 1 gave six identical rows";
  options.top_k = 1;
  std::vector<Completion> top1 = GenerateBatched(*model, tokenizer, prompts, options);
  options.temperature = 0;
  options.top_k = 0;
  std::vector<Completion> greedy = GenerateBatched(*model, tokenizer, prompts, options);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(top1[i].tokens, greedy[i].tokens);
}

TEST_F(LlamaModelTest, EosAndStopStringsEndSequences) {
  std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(), 21);
  Tokenizer tokenizer = CharTokenizer();
  SamplingOptions options;
  options.max_new_tokens = 30;
  std::vector<Completion> free_run = GenerateBatched(*model, tokenizer, {tokenizer.Encode("ab")}, options);
  ASSERT_GE(free_run[0].tokens.size(), 3u);
  // Make the third generated token an EOS: the sequence must stop right there.
  options.eos_token_ids = {free_run[0].tokens[2]};
  std::vector<Completion> eos = GenerateBatched(*model, tokenizer, {tokenizer.Encode("ab")}, options);
  EXPECT_EQ(eos[0].finish_reason, FinishReason::kEos);
  EXPECT_EQ(eos[0].tokens.size(), static_cast<size_t>(
      std::find(free_run[0].tokens.begin(), free_run[0].tokens.end(), free_run[0].tokens[2]) -
      free_run[0].tokens.begin() + 1));
  // A stop string made of the first two generated characters ends after them.
  options.eos_token_ids.clear();
  std::string first_two = free_run[0].text.substr(0, 2);
  ASSERT_EQ(first_two.size(), 2u) << "free run text: '" << free_run[0].text << "'";
  options.stop_strings = {first_two};
  std::vector<Completion> stopped = GenerateBatched(*model, tokenizer, {tokenizer.Encode("ab")}, options);
  EXPECT_EQ(stopped[0].finish_reason, FinishReason::kStopString);
  EXPECT_EQ(stopped[0].text, first_two);
  options.stop_strings.clear();
  options.max_new_tokens = 4;
  std::vector<Completion> length = GenerateBatched(*model, tokenizer, {tokenizer.Encode("ab")}, options);
  EXPECT_EQ(length[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ(length[0].tokens.size(), 4u);
}

TEST_F(LlamaModelTest, SavedCheckpointLoadsWithIdenticalLogits) {
  for (ModelDtype dtype : {ModelDtype::kFloat32, ModelDtype::kBFloat16}) {
    ModelConfig config = TinyConfig(/*qkv_bias=*/true, /*tied=*/dtype == ModelDtype::kBFloat16);
    config.dtype = dtype;
    std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(config, 17);
    std::string dir = Dir(ModelDtypeName(dtype));
    ASSERT_TRUE(model->Save(dir).ok());
    absl::StatusOr<std::unique_ptr<LlamaModel>> loaded = LlamaModel::Load(dir);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->dtype(), ToTorchDtype(dtype));
    torch::NoGradGuard no_grad;
    PaddedBatch batch = MakeBatch({{1, 2, 3, 4}, {5, 6}});
    torch::Tensor a = model->Forward(batch.ids, batch.positions, batch.valid, nullptr);
    torch::Tensor b = (*loaded)->Forward(batch.ids, batch.positions, batch.valid, nullptr);
    EXPECT_TRUE(torch::equal(a, b)) << ModelDtypeName(dtype);
    for (size_t i = 0; i < model->named_parameters().size(); ++i) {
      EXPECT_TRUE(torch::equal(model->named_parameters()[i].second,
                               (*loaded)->named_parameters()[i].second))
          << model->named_parameters()[i].first;
    }
  }
}

// What a trainer does with a bfloat16 base: trains in float32, writes bfloat16 again.
TEST_F(LlamaModelTest, AFloat32ModelIsSavedInTheDtypeAsked) {
  std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(), 29);
  std::string dir = Dir("as-bf16");
  ASSERT_TRUE(model->Save(dir, ModelDtype::kBFloat16).ok());
  absl::StatusOr<std::unique_ptr<LlamaModel>> loaded = LlamaModel::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->dtype(), torch::kBFloat16);
  EXPECT_EQ((*loaded)->config().dtype, ModelDtype::kBFloat16);
  EXPECT_EQ(model->dtype(), torch::kFloat32);  // the model itself is left as it was
  for (size_t i = 0; i < model->named_parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(model->named_parameters()[i].second.to(torch::kBFloat16),
                             (*loaded)->named_parameters()[i].second))
        << model->named_parameters()[i].first;
  }
}

TEST_F(LlamaModelTest, ShardedCheckpointLoads) {
  std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(), 23);
  std::string dir = Dir("sharded");
  ASSERT_TRUE(model->Save(dir).ok());
  // Split model.safetensors into two shards plus an index, as transformers does.
  auto file = SafetensorsFile::Open(dir + "/model.safetensors");
  ASSERT_TRUE(file.ok());
  std::vector<TensorToWrite> first, second;
  std::string index = R"({"metadata":{},"weight_map":{)";
  for (size_t i = 0; i < (*file)->tensors().size(); ++i) {
    const TensorView& v = (*file)->tensors()[i];
    bool in_first = i % 2 == 0;
    (in_first ? first : second).push_back({v.name, v.dtype, v.shape, v.data, v.size_bytes});
    absl::StrAppend(&index, i ? "," : "", "\"", v.name, "\":\"model-0000", in_first ? 1 : 2,
                    "-of-00002.safetensors\"");
  }
  index += "}}";
  ASSERT_TRUE(WriteSafetensors(dir + "/model-00001-of-00002.safetensors", first, {{"format", "pt"}}).ok());
  ASSERT_TRUE(WriteSafetensors(dir + "/model-00002-of-00002.safetensors", second, {{"format", "pt"}}).ok());
  file->reset();
  std::filesystem::remove(dir + "/model.safetensors");
  std::ofstream(dir + "/model.safetensors.index.json") << index;
  absl::StatusOr<std::unique_ptr<LlamaModel>> loaded = LlamaModel::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (size_t i = 0; i < model->named_parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(model->named_parameters()[i].second,
                             (*loaded)->named_parameters()[i].second));
  }
}

// Rewrites dir/model.safetensors with `edit` applied to its tensor list.
void RewriteWeights(const std::string& dir,
                    const std::function<void(std::vector<TensorToWrite>&)>& edit) {
  auto file = SafetensorsFile::Open(dir + "/model.safetensors");
  ASSERT_TRUE(file.ok());
  std::vector<TensorToWrite> tensors;
  std::vector<std::vector<std::byte>> copies;
  for (const TensorView& v : (*file)->tensors()) {
    copies.emplace_back(v.data, v.data + v.size_bytes);
    tensors.push_back({v.name, v.dtype, v.shape, nullptr, v.size_bytes});
  }
  for (size_t i = 0; i < tensors.size(); ++i) tensors[i].data = copies[i].data();
  file->reset();
  edit(tensors);
  ASSERT_TRUE(WriteSafetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}}).ok());
}

TEST_F(LlamaModelTest, MissingExtraAndMisshapenTensorsAreNamed) {
  std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(), 29);
  std::string dir = Dir("broken");
  ASSERT_TRUE(model->Save(dir).ok());
  RewriteWeights(dir, [](auto& t) {
    std::erase_if(t, [](const TensorToWrite& w) { return w.name == "model.layers.1.mlp.up_proj.weight"; });
  });
  absl::Status missing = LlamaModel::Load(dir).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("missing tensor 'model.layers.1.mlp.up_proj.weight' (expected "
                                   "shape [64, 32])"),
            std::string::npos)
      << missing;

  ASSERT_TRUE(model->Save(dir).ok());
  static float extra[4] = {};
  RewriteWeights(dir, [](auto& t) {
    t.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", TensorDtype::kF32, {4}, extra, 16});
  });
  absl::Status unexpected = LlamaModel::Load(dir).status();
  EXPECT_NE(unexpected.message().find("unexpected tensor 'model.layers.0.self_attn.rotary_emb.inv_freq'"),
            std::string::npos)
      << unexpected;
  EXPECT_NE(unexpected.message().find("model.safetensors"), std::string::npos);

  ASSERT_TRUE(model->Save(dir).ok());
  RewriteWeights(dir, [](auto& t) {
    for (auto& w : t) {
      if (w.name == "model.norm.weight") w.shape = {2, 16};
    }
  });
  absl::Status shape = LlamaModel::Load(dir).status();
  EXPECT_NE(shape.message().find("tensor 'model.norm.weight' has shape [2, 16], expected [32]"),
            std::string::npos)
      << shape;
}

TEST_F(LlamaModelTest, RandomInitIsDeterministicPerSeed) {
  auto a = LlamaModel::RandomInit(TinyConfig(), 1);
  auto b = LlamaModel::RandomInit(TinyConfig(), 1);
  auto c = LlamaModel::RandomInit(TinyConfig(), 2);
  // Parameter 0 is the embedding (random; norms start at one).
  EXPECT_TRUE(torch::equal(a->named_parameters()[0].second, b->named_parameters()[0].second));
  EXPECT_FALSE(torch::equal(a->named_parameters()[0].second, c->named_parameters()[0].second));
  EXPECT_EQ(a->config().ParameterCount(),
            [&] { int64_t n = 0; for (auto& [name, t] : a->named_parameters()) n += t.numel(); return n; }());
}

// On an accelerator the host looks at the sampled tokens only every few steps; rows that
// finished in between decode on, and what they produce past their end must be dropped.
TEST_F(LlamaModelTest, GreedyOutputDoesNotDependOnHowOftenTheHostLooksAtTheTokens) {
  std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(), 21);
  Tokenizer tokenizer = CharTokenizer();
  std::vector<std::vector<int32_t>> prompts;
  for (const char* p : {"1+2", "33+44", "a", "bcd", "12+9", "7", "x y z", "555+5"}) {
    prompts.push_back(tokenizer.Encode(p));
  }
  SamplingOptions options;
  options.max_new_tokens = 20;
  options.batch_size = 8;
  // Stop early on some rows: an EOS id the random model emits, and a stop string.
  options.eos_token_ids = {5, 9};
  options.stop_strings = {"q"};
  options.check_interval = 1;
  std::vector<Completion> every_step = GenerateBatched(*model, tokenizer, prompts, options);
  int finished_early = 0;
  for (const Completion& c : every_step) finished_early += c.finish_reason != FinishReason::kLength;
  ASSERT_GT(finished_early, 0) << "the test needs rows that end before max_new_tokens";
  for (int64_t interval : {3, 8, 64}) {
    options.check_interval = interval;
    std::vector<Completion> out = GenerateBatched(*model, tokenizer, prompts, options);
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(out[i].tokens, every_step[i].tokens) << "interval " << interval << ", prompt " << i;
      EXPECT_EQ(out[i].text, every_step[i].text) << "interval " << interval << ", prompt " << i;
      EXPECT_EQ(out[i].finish_reason, every_step[i].finish_reason) << "interval " << interval;
    }
  }
}

TEST_F(LlamaModelTest, OnCudaLogitsAndGreedyTokensMatchTheCpu) {
  if (VisibleCudaDevices() == 0) {
    GTEST_SKIP() << "no CUDA device visible: the CUDA path is compiled but cannot run here";
  }
  const torch::Device cuda(torch::kCUDA, 0);
  ASSERT_TRUE(LlamaModel::RandomInit(TinyConfig(true), 17)->Save(Dir("m")).ok());
  absl::StatusOr<std::unique_ptr<LlamaModel>> cpu = LlamaModel::Load(Dir("m"), torch::kFloat32);
  absl::StatusOr<std::unique_ptr<LlamaModel>> gpu = LlamaModel::Load(Dir("m"), torch::kFloat32, cuda);
  ASSERT_TRUE(cpu.ok() && gpu.ok());
  EXPECT_TRUE((*gpu)->device().is_cuda());
  {
    torch::NoGradGuard no_grad;
    PaddedBatch b = MakeBatch({{5, 6, 7, 8, 9}, {4, 3, 5}, {20, 21, 22, 23, 24, 25, 26}});
    torch::Tensor on_cpu = (*cpu)->Forward(b.ids, b.positions, b.valid, nullptr);
    torch::Tensor on_gpu =
        (*gpu)->Forward(b.ids.to(cuda), b.positions.to(cuda), b.valid.to(cuda), nullptr).cpu();
    torch::Tensor diff = (on_gpu - on_cpu).abs().amax(-1).masked_select(b.valid);
    EXPECT_LT(diff.max().item<float>(), 1e-4);
  }
  Tokenizer tokenizer = CharTokenizer();
  std::vector<std::vector<int32_t>> prompts;
  for (const char* p : {"1+2", "33+44", "abc", "9"}) prompts.push_back(tokenizer.Encode(p));
  SamplingOptions options;
  options.max_new_tokens = 24;
  options.eos_token_ids = {5};
  std::vector<Completion> want = GenerateBatched(**cpu, tokenizer, prompts, options);
  std::vector<Completion> got = GenerateBatched(**gpu, tokenizer, prompts, options);
  options.use_kv_cache = false;
  std::vector<Completion> recomputed = GenerateBatched(**gpu, tokenizer, prompts, options);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(got[i].tokens, want[i].tokens) << "prompt " << i;
    EXPECT_EQ(recomputed[i].tokens, want[i].tokens) << "prompt " << i;
  }
  // Sampling draws on the device, reproducibly for a seed.
  options.use_kv_cache = true;
  options.temperature = 1.0;
  options.seed = 5;
  EXPECT_EQ(GenerateBatched(**gpu, tokenizer, prompts, options)[0].tokens,
            GenerateBatched(**gpu, tokenizer, prompts, options)[0].tokens);
  // bfloat16 on the device gives the float32 logits within bfloat16's resolution (8 bits of
  // mantissa: 2% of the logits' scale).
  absl::StatusOr<std::unique_ptr<LlamaModel>> bf16 = LlamaModel::Load(Dir("m"), torch::kBFloat16, cuda);
  ASSERT_TRUE(bf16.ok());
  {
    torch::NoGradGuard no_grad;
    PaddedBatch b = MakeBatch({{5, 6, 7, 8, 9}, {4, 3, 5}});
    torch::Tensor full = (*gpu)->Forward(b.ids.to(cuda), b.positions.to(cuda), b.valid.to(cuda), nullptr);
    torch::Tensor half = (*bf16)->Forward(b.ids.to(cuda), b.positions.to(cuda), b.valid.to(cuda), nullptr);
    ASSERT_FALSE(half.isnan().any().item<bool>());
    torch::Tensor diff = (half.to(torch::kFloat32) - full).abs().amax(-1).cpu().masked_select(b.valid);
    EXPECT_LT(diff.max().item<float>(), 0.02 * full.abs().max().item<float>());
  }
}

// Checkpointed layers are recomputed in the backward pass: the loss and every gradient are
// those of the plain pass, in float32 and under bfloat16 autocast, with padding masks and
// without, and for a model with biases and q/k norms.
TEST_F(LlamaModelTest, ActivationCheckpointingGivesTheGradientsOfThePlainPass) {
  ModelConfig config = TinyConfig(/*qkv_bias=*/true, /*tied=*/true);
  config.qk_norm = true;
  for (bool autocast : {false, true}) {
    for (bool padded : {false, true}) {
      std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(config, 23);
      PaddedBatch b = MakeBatch({{5, 6, 7, 8, 9, 10}, {4, 3, 5}, {20, 21, 22, 23}});
      std::vector<std::vector<torch::Tensor>> grads;
      std::vector<double> losses;
      for (bool checkpoint : {false, true}) {
        model->set_activation_checkpointing(checkpoint);
        for (const torch::Tensor& p : model->parameters()) p.mutable_grad().reset();
        torch::Tensor logits;
        {
          AutocastScope scope(torch::kCPU, autocast);
          logits = model->Forward(b.ids, b.positions, padded ? b.valid : torch::Tensor(), nullptr);
        }
        torch::Tensor loss = logits.to(torch::kFloat32).pow(2).mean();
        loss.backward();
        losses.push_back(loss.item<double>());
        std::vector<torch::Tensor> g;
        for (const torch::Tensor& p : model->parameters()) {
          ASSERT_TRUE(p.grad().defined()) << "checkpoint=" << checkpoint;
          g.push_back(p.grad().clone());
        }
        grads.push_back(std::move(g));
      }
      EXPECT_DOUBLE_EQ(losses[0], losses[1]) << "autocast=" << autocast << " padded=" << padded;
      for (size_t i = 0; i < grads[0].size(); ++i) {
        const double scale = grads[0][i].abs().max().item<double>();
        EXPECT_LE((grads[0][i] - grads[1][i]).abs().max().item<double>(), 1e-6 * std::max(1.0, scale))
            << "parameter " << i << ", autocast=" << autocast << " padded=" << padded;
      }
    }
  }
}

// Without padding, a training pass gives SDPA no mask and lets it apply causality itself (so
// that it may pick a flash kernel): the logits must be those of the explicitly masked pass.
TEST_F(LlamaModelTest, APassWithoutAPaddingMaskGivesTheLogitsOfTheMaskedPass) {
  for (int64_t kv_heads : {1, 2, 4}) {
    std::unique_ptr<LlamaModel> model = LlamaModel::RandomInit(TinyConfig(true, false, kv_heads), 29);
    torch::NoGradGuard no_grad;
    PaddedBatch b = MakeBatch({{5, 6, 7, 8, 9, 10, 11}, {4, 3, 5, 9, 9, 9, 1}});
    torch::Tensor masked = model->Forward(b.ids, b.positions, b.valid, nullptr);
    torch::Tensor causal = model->Forward(b.ids, b.positions, torch::Tensor(), nullptr);
    EXPECT_LT((masked - causal).abs().max().item<float>(), 1e-5) << "kv_heads " << kv_heads;
  }
}

}  // namespace
}  // namespace star
