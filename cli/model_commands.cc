#include "cli/model_commands.h"

#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "flags/flag_parser.h"
#include "model/text_generator.h"

namespace star {

int RunInitModel(int argc, char** argv) {
  std::string config;
  std::string tokenizer;
  std::string out;
  int64_t seed = 0;
  FlagParser flags("star init-model",
                   "Writes a randomly initialised Hugging Face model directory (config.json, "
                   "model.safetensors, tokenizer.json).");
  flags.AddString("config", &config, "Hugging Face config.json of a Llama/Qwen2 model", true);
  flags.AddString("tokenizer", &tokenizer, "tokenizer.json to ship with the model", true);
  flags.AddString("out", &out, "model directory to write (created)", true);
  flags.AddInt("seed", &seed, "seed of the random initialisation", 0, INT64_MAX);
  flags.ParseOrExit(argc, argv, 2);
  if (absl::Status s = InitRandomModel(config, tokenizer, out, static_cast<uint64_t>(seed));
      !s.ok()) {
    std::fprintf(stderr, "star init-model: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

int RunGenerate(int argc, char** argv) {
  std::string model;
  std::string prompt;
  int64_t max_new_tokens = 64;
  double temperature = 0;
  int64_t top_k = 0;
  double top_p = 1.0;
  int64_t seed = 0;
  FlagParser flags("star generate",
                   "Prints the continuation of a prompt by a model directory (greedy unless a "
                   "temperature is given).");
  flags.AddString("model", &model, "Hugging Face model directory", true);
  flags.AddString("prompt", &prompt, "text to continue", true);
  flags.AddInt("max-new-tokens", &max_new_tokens, "tokens to generate at most", 1, 1 << 20);
  flags.AddDouble("temperature", &temperature, "sampling temperature (0: greedy)", 0, 100);
  flags.AddInt("top-k", &top_k, "sample from the k most likely tokens (0: all)", 0, 1 << 30);
  flags.AddDouble("top-p", &top_p, "nucleus sampling mass (1: all)", 1e-6, 1);
  flags.AddInt("seed", &seed, "sampling seed", 0, INT64_MAX);
  flags.ParseOrExit(argc, argv, 2);
  absl::StatusOr<std::unique_ptr<TextGenerator>> generator = TextGenerator::Load(model);
  if (!generator.ok()) {
    std::fprintf(stderr, "star generate: %s\n", std::string(generator.status().message()).c_str());
    return 1;
  }
  SamplingOptions options;
  options.max_new_tokens = max_new_tokens;
  options.temperature = temperature;
  options.top_k = top_k;
  options.top_p = top_p;
  options.seed = static_cast<uint64_t>(seed);
  options.batch_size = 1;
  absl::StatusOr<std::vector<Completion>> out = (*generator)->Generate({prompt}, options);
  if (!out.ok()) {
    std::fprintf(stderr, "star generate: %s\n", std::string(out.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", (*out)[0].text.c_str());
  return 0;
}

}  // namespace star
