// star-bench-training: training throughput of the shipped round trainer (trainer/round_trainer.h)
// on one checkpoint and one device, as one JSON object: tokens/s over the timed steps and the
// model FLOP utilisation against a peak the caller names. A one-rank round (NCCL on CUDA, Gloo
// on the CPU) of random sequences, every token a completion token.
//
//   star-bench-training --model DIR [--device cuda] [--precision bf16] [--batch 8] [--seq 1024]
//                       [--steps 10] [--warmup-steps 3] [--peak-tflops 790]
//
// MFU counts 6 FLOPs per parameter of every matrix product per token (the LM head included,
// tied or not) plus causal attention's 6 * layers * seq * heads * head_dim per token (half of
// the full square), as the PaLM paper's appendix B does.

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "flags/flag_parser.h"
#include "model/causal_lm_batch.h"
#include "model/cuda_devices.h"
#include "model/model_config.h"
#include "nlohmann/json.hpp"
#include "trainer/collective.h"
#include "trainer/round_trainer.h"
#include "trainer/store_listener.h"

namespace star {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "star-bench-training: %s\n", message.c_str());
  return 1;
}

// Multiply-accumulate FLOPs (x2) of one token's forward and backward pass.
double TrainingFlopsPerToken(const ModelConfig& c, int64_t seq) {
  const double q = static_cast<double>(c.num_attention_heads * c.head_dim);
  const double kv = static_cast<double>(c.num_key_value_heads * c.head_dim);
  const double h = static_cast<double>(c.hidden_size);
  const double per_layer = h * (q + 2 * kv) + q * h + 3 * h * c.intermediate_size;
  const double matmul_params = c.num_hidden_layers * per_layer + h * c.vocab_size;
  const double attention = 6.0 * c.num_hidden_layers * static_cast<double>(seq) * q;
  return 6.0 * matmul_params + attention;
}

int Run(int argc, char** argv) {
  std::string model_dir;
  std::string device_flag = "auto";
  std::string precision_flag = "auto";
  int64_t batch = 8;
  int64_t seq = 1024;
  int64_t steps = 10;
  int64_t warmup_steps = 3;
  int64_t threads = 2;
  double peak_tflops = 790;
  bool activation_checkpointing = false;
  FlagParser flags("star-bench-training",
                   "Measures training tokens/s and MFU of the round trainer on one device.");
  flags.AddString("model", &model_dir, "Hugging Face model directory", true);
  flags.AddString("device", &device_flag, "cpu, cuda, cuda:N or auto");
  flags.AddString("precision", &precision_flag, "auto (bf16 on CUDA, fp32 on the CPU), bf16 or fp32");
  flags.AddInt("batch", &batch, "sequences per step", 1, 4096);
  flags.AddInt("seq", &seq, "tokens per sequence", 2, 65536);
  flags.AddInt("steps", &steps, "timed steps", 1, 10000);
  flags.AddInt("warmup-steps", &warmup_steps, "steps run before timing", 0, 1000);
  flags.AddInt("threads", &threads, "intra-op threads (CPU)", 1, 256);
  flags.AddDouble("peak-tflops", &peak_tflops, "the device's dense peak, for MFU", 0.001, 1e6);
  flags.AddBool("activation-checkpointing", &activation_checkpointing,
                "recompute each layer in the backward pass");
  flags.ParseOrExit(argc, argv);
  absl::StatusOr<ComputeDevice> device = ResolveComputeDevice(device_flag);
  if (!device.ok()) flags.ExitWithFlagError("device", device.status().message());
  absl::StatusOr<Precision> precision = ParsePrecision(precision_flag);
  if (!precision.ok()) flags.ExitWithFlagError("precision", precision.status().message());
  at::set_num_threads(static_cast<int>(threads));

  absl::StatusOr<ModelConfig> config = ModelConfig::FromFile(model_dir + "/config.json");
  if (!config.ok()) return Fail(std::string(config.status().message()));
  if (seq > config->max_position_embeddings) {
    return Fail(absl::StrCat("--seq ", seq, " exceeds max_position_embeddings ",
                             config->max_position_embeddings));
  }
  std::mt19937 random(7);
  std::uniform_int_distribution<int32_t> token(3, static_cast<int32_t>(config->vocab_size) - 1);
  std::vector<PromptCompletion> examples(static_cast<size_t>(batch));
  for (PromptCompletion& e : examples) {
    e.prompt = {token(random)};
    for (int64_t t = 1; t < seq; ++t) e.completion.push_back(token(random));
  }

  absl::StatusOr<StoreListener> listener = StoreListener::Bind("127.0.0.1");
  if (!listener.ok()) return Fail(std::string(listener.status().message()));
  CollectiveOptions collective_options;
  collective_options.backend = device->cuda ? "nccl" : "gloo";
  collective_options.master_port = listener->port();
  collective_options.master_listen_fd = listener->Release();
  absl::StatusOr<std::unique_ptr<Collective>> collective = Collective::Create(collective_options);
  if (!collective.ok()) return Fail(std::string(collective.status().message()));

  RoundOptions options;
  options.base_checkpoint = model_dir;  // nothing is written: no output_checkpoint
  options.steps = warmup_steps + steps;
  options.learning_rate = 1e-5;
  options.global_batch_size = batch;
  options.max_length = seq;
  options.device = *device;
  options.precision = *precision;
  options.activation_checkpointing = activation_checkpointing;
  double timed_seconds = 0;
  int64_t timed_tokens = 0;
  double last_loss = 0;
  options.step_observer = [&](const StepStats& step) {
    last_loss = step.loss;
    if (step.step <= warmup_steps) return;
    timed_seconds += step.seconds;
    timed_tokens += step.tokens;
  };
  absl::StatusOr<RoundResult> result = RunTrainingRound(options, examples, **collective);
  if (!result.ok()) return Fail(std::string(result.status().message()));

  const double tokens_per_second = static_cast<double>(timed_tokens) / timed_seconds;
  const double flops_per_token = TrainingFlopsPerToken(*config, seq);
  nlohmann::json out = {
      {"impl", "star"},
      {"mode", "train"},
      {"device", device->ToString()},
      {"precision", std::string(PrecisionName(*precision))},
      {"params", config->ParameterCount()},
      {"batch", batch},
      {"seq_len", seq},
      {"steps", steps},
      {"seconds_per_step", timed_seconds / static_cast<double>(steps)},
      {"tokens_per_second", tokens_per_second},
      {"flops_per_token", flops_per_token},
      {"mfu", tokens_per_second * flops_per_token / (peak_tflops * 1e12)},
      {"peak_tflops", peak_tflops},
      {"activation_checkpointing", activation_checkpointing},
      {"final_loss", last_loss}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace star

int main(int argc, char** argv) { return star::Run(argc, argv); }
