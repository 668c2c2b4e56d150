// star-bench-generation: decoding and training-step throughput of the C++ decoder on one
// checkpoint, printed as one JSON object per measurement (scripts/bench_model.py runs it next to
// transformers and a plain PyTorch loop on the same checkpoint and thread count).
//
//   star-bench-generation --model DIR --batch 16 --new-tokens 128 --prompt-tokens 16
//                         [--device cpu|cuda|cuda:N|auto] [--precision auto|bf16|fp32]
//                         [--no-cache] [--threads 2] [--repeats 3] [--train]
//
// --train times plain float32 steps on the CPU; star-bench-training measures the trainer itself.

#include <chrono>
#include <cstdio>
#include <string>

#include "flags/flag_parser.h"
#include "model/cuda_devices.h"
#include "model/generation.h"
#include "model/llama_model.h"
#include "nlohmann/json.hpp"

namespace star {
namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Run(int argc, char** argv) {
  std::string model_dir;
  int64_t batch = 16;
  int64_t new_tokens = 128;
  int64_t prompt_tokens = 16;
  int64_t threads = 2;
  int64_t repeats = 3;
  bool no_cache = false;
  bool train = false;
  std::string device_flag = "cpu";
  std::string precision_flag = "auto";
  FlagParser flags("star-bench-generation",
                   "Measures generation (or training-step) tokens/s of the C++ decoder.");
  flags.AddString("model", &model_dir, "Hugging Face model directory", true);
  flags.AddInt("batch", &batch, "sequences at once", 1, 4096);
  flags.AddInt("new-tokens", &new_tokens, "tokens generated per sequence", 1, 8192);
  flags.AddInt("prompt-tokens", &prompt_tokens, "prompt length (or sequence length with --train)",
               1, 8192);
  flags.AddInt("threads", &threads, "intra-op threads", 1, 256);
  flags.AddInt("repeats", &repeats, "timed runs (the best is reported)", 1, 100);
  flags.AddBool("no-cache", &no_cache, "recompute the whole prefix at every step");
  flags.AddBool("train", &train, "time forward + backward + AdamW steps instead (CPU)");
  flags.AddString("device", &device_flag, "where the model generates: cpu, cuda, cuda:N or auto");
  flags.AddString("precision", &precision_flag,
                  "auto (bf16 on CUDA, the checkpoint's dtype on the CPU), bf16 or fp32");
  flags.ParseOrExit(argc, argv);
  at::set_num_threads(static_cast<int>(threads));
  absl::StatusOr<ComputeDevice> device = ResolveComputeDevice(device_flag);
  if (!device.ok()) flags.ExitWithFlagError("device", device.status().message());
  absl::StatusOr<Precision> precision = ParsePrecision(precision_flag);
  if (!precision.ok()) flags.ExitWithFlagError("precision", precision.status().message());
  if (train && device->cuda) flags.ExitWithFlagError("train", "times CPU steps only");
  auto model = LlamaModel::Load(model_dir, GenerationDtype(*precision, *device),
                                ToTorchDevice(*device));
  if (!model.ok()) {
    std::fprintf(stderr, "star-bench-generation: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  const int64_t vocab = (*model)->config().vocab_size;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  nlohmann::json result = {{"impl", "star"},
                           {"params", (*model)->config().ParameterCount()},
                           {"batch", batch},
                           {"threads", threads},
                           {"device", device->ToString()},
                           {"dtype", std::string(c10::toString((*model)->dtype()))}};
  double best = 1e30;
  if (train) {
    torch::optim::AdamW optimizer((*model)->parameters(), torch::optim::AdamWOptions(1e-4));
    torch::Tensor ids = at::randint(3, vocab, {batch, prompt_tokens}, gen, torch::kInt64);
    torch::Tensor positions = torch::arange(prompt_tokens, torch::kInt64).expand({batch, prompt_tokens});
    for (int64_t r = 0; r < repeats + 1; ++r) {  // the first step warms up
      auto start = std::chrono::steady_clock::now();
      optimizer.zero_grad();
      torch::Tensor logits = (*model)->Forward(ids, positions, torch::Tensor(), nullptr);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.narrow(1, 0, prompt_tokens - 1).reshape({-1, vocab}),
          ids.narrow(1, 1, prompt_tokens - 1).reshape({-1}));
      loss.backward();
      optimizer.step();
      if (r > 0) best = std::min(best, Seconds(start));
    }
    result["mode"] = "train";
    result["seq_len"] = prompt_tokens;
    result["seconds"] = best;
    result["tokens_per_second"] = static_cast<double>(batch * prompt_tokens) / best;
  } else {
    std::vector<std::vector<int32_t>> prompts;
    torch::Tensor ids = at::randint(3, vocab, {batch, prompt_tokens}, gen, torch::kInt64);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<int32_t> p(prompt_tokens);
      for (int64_t t = 0; t < prompt_tokens; ++t) p[t] = static_cast<int32_t>(ids[b][t].item<int64_t>());
      prompts.push_back(std::move(p));
    }
    absl::StatusOr<Tokenizer> empty = Tokenizer::FromJson(
        R"({"model":{"type":"BPE","vocab":{},"merges":[]},"added_tokens":[],"normalizer":null,)"
        R"("pre_tokenizer":null,"post_processor":null,"decoder":null})",
        "empty");
    SamplingOptions options;
    options.max_new_tokens = new_tokens;
    options.batch_size = batch;
    options.use_kv_cache = !no_cache;
    int64_t generated = 0;
    for (int64_t r = 0; r < repeats + 1; ++r) {
      auto start = std::chrono::steady_clock::now();
      std::vector<Completion> out = GenerateBatched(**model, *empty, prompts, options);
      double s = Seconds(start);  // GenerateBatched returns host-side tokens: the device is done
      generated = 0;
      for (const Completion& c : out) generated += static_cast<int64_t>(c.tokens.size());
      if (r > 0) best = std::min(best, s);
    }
    result["mode"] = no_cache ? "generate-recompute" : "generate-kv-cache";
    result["prompt_tokens"] = prompt_tokens;
    result["new_tokens"] = new_tokens;
    result["generated"] = generated;
    result["seconds"] = best;
    result["tokens_per_second"] = static_cast<double>(generated) / best;
  }
  std::printf("%s\n", result.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) { return star::Run(argc, argv); }
