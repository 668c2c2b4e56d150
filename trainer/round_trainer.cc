#include "trainer/round_trainer.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/autocast_scope.h"
#include "model/llama_model.h"
#include "trainer/adamw.h"
#include "trainer/batch_planner.h"

namespace star {

double LearningRateAt(const RoundOptions& options, int64_t step) {
  if (options.warmup_steps > 0 && step < options.warmup_steps) {
    return options.learning_rate * static_cast<double>(step + 1) /
           static_cast<double>(options.warmup_steps);
  }
  if (!options.linear_decay) return options.learning_rate;
  // From the full rate at the first step after warm-up down to rate/remaining at the last.
  const double remaining = static_cast<double>(options.steps - options.warmup_steps);
  return options.learning_rate * static_cast<double>(options.steps - step) / remaining;
}

absl::StatusOr<RoundResult> RunTrainingRound(const RoundOptions& options,
                                             const std::vector<PromptCompletion>& examples,
                                             Collective& collective,
                                             const std::function<void(int64_t, double)>& progress) {
  const int world = collective.world_size();
  if (options.steps < 1) return absl::InvalidArgumentError("steps must be at least 1");
  if (options.global_batch_size < world || options.global_batch_size % world != 0) {
    return absl::InvalidArgumentError(absl::StrCat("global batch size ", options.global_batch_size,
                                                   " is not a multiple of the world size ", world));
  }
  if (examples.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", collective.rank(), " has no examples"));
  }
  const int64_t local_batch = options.global_batch_size / world;
  try {
    const torch::Device device = ToTorchDevice(options.device);
    const bool bf16 = ComputesInBf16(options.precision, options.device);
    absl::StatusOr<std::unique_ptr<LlamaModel>> loaded =
        LlamaModel::Load(options.base_checkpoint, torch::kFloat32, device);
    if (!loaded.ok()) return loaded.status();
    LlamaModel& model = **loaded;
    model.set_activation_checkpointing(options.activation_checkpointing);
    const std::vector<torch::Tensor>& params = model.parameters();
    AdamW optimizer(params, AdamWOptions{.weight_decay = options.weight_decay});
    // Every rank draws the same global batches (the seed makes a round reproducible) and
    // trains on its slice of each: the examples a step sees do not depend on the world size.
    std::vector<size_t> lengths;
    for (const PromptCompletion& e : examples) lengths.push_back(e.prompt.size() + e.completion.size());
    BatchPlanner planner(std::move(lengths), options.global_batch_size, options.seed * 1000003);
    std::deque<double> recent;
    int64_t tokens = 0;
    auto start = std::chrono::steady_clock::now();
    for (int64_t step = 0; step < options.steps; ++step) {
      auto step_start = std::chrono::steady_clock::now();
      const double allreduce_before = collective.allreduce_seconds();
      const double lr = LearningRateAt(options, step);
      std::vector<PromptCompletion> batch_examples;
      const std::vector<size_t> global_batch = planner.NextBatch();
      for (int64_t i = 0; i < options.global_batch_size; ++i) {
        if (i / local_batch == collective.rank()) batch_examples.push_back(examples[global_batch[i]]);
      }
      CausalLmBatch batch = MakeCausalLmBatch(batch_examples, options.max_length).To(device);
      const int64_t step_tokens = batch.real_tokens;
      tokens += step_tokens;
      // The loss is the mean over the completion tokens of the whole global batch: each rank
      // scales its own mean by its share of those tokens (times the world size, which the
      // gradient average divides out again).
      // The same all-reduce carries the ranks' requests to stop.
      const bool stop = options.stop_requested && options.stop_requested();
      torch::Tensor loss_tokens =
          torch::tensor({static_cast<double>(batch.loss_tokens), stop ? 1.0 : 0.0}, torch::kFloat64)
              .to(device);
      if (absl::Status s = collective.AllReduceSum(loss_tokens); !s.ok()) return s;
      loss_tokens = loss_tokens.cpu();  // one copy to the host for both numbers
      if (loss_tokens[1].item<double>() > 0) {
        return absl::AbortedError(absl::StrFormat(
            "stopped before step %d of %d: %s", step + 1, options.steps,
            stop ? "this rank was asked to stop" : "another rank was asked to stop"));
      }
      const double global_tokens = std::max(1.0, loss_tokens[0].item<double>());
      const double share = static_cast<double>(batch.loss_tokens) / global_tokens;
      optimizer.ZeroGrad();
      torch::Tensor loss;
      {
        AutocastScope autocast(device.type(), bf16);
        loss = CausalLmLoss(model, batch) * (share * world);
      }
      loss.backward();
      if (absl::Status s = collective.AverageGradients(params); !s.ok()) return s;
      if (options.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, options.grad_clip);
      optimizer.Step(lr);
      torch::Tensor loss_sum = loss.detach().reshape({1}).to(torch::kFloat64).clone();
      if (absl::Status s = collective.AllReduceSum(loss_sum); !s.ok()) return s;
      double mean_loss = loss_sum.item<double>() / world;
      recent.push_back(mean_loss);
      if (recent.size() > 10) recent.pop_front();
      if (progress) progress(step + 1, mean_loss);
      if (options.step_observer) {
        options.step_observer(StepStats{
            .step = step + 1,
            .loss = mean_loss,
            .seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start)
                           .count(),
            .tokens = step_tokens,
            .allreduce_seconds = collective.allreduce_seconds() - allreduce_before});
      }
    }
    RoundResult result;
    result.steps = options.steps;
    result.final_loss = std::accumulate(recent.begin(), recent.end(), 0.0) / recent.size();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.tokens_per_second = static_cast<double>(tokens) / std::max(result.seconds, 1e-9);
    result.allreduce_seconds = collective.allreduce_seconds();
    if (collective.rank() == 0 && !options.output_checkpoint.empty()) {
      // Trained in float32, written in the base checkpoint's dtype (its config.json's): a
      // bfloat16 base gives a bfloat16 model, as transformers would save it.
      if (absl::Status s = model.Save(options.output_checkpoint, model.config().dtype); !s.ok()) return s;
      std::error_code ec;
      // generation_config.json, when the base has one, carries the EOS ids generation stops at.
      const std::string generation_config = absl::StrCat(options.base_checkpoint, "/generation_config.json");
      if (std::filesystem::exists(generation_config, ec)) {
        std::filesystem::copy_file(generation_config,
                                   absl::StrCat(options.output_checkpoint, "/generation_config.json"),
                                   std::filesystem::copy_options::overwrite_existing, ec);
        if (ec) {
          return absl::InternalError(absl::StrCat("copying ", generation_config, ": ", ec.message()));
        }
      }
      std::filesystem::copy_file(absl::StrCat(options.base_checkpoint, "/tokenizer.json"),
                                 absl::StrCat(options.output_checkpoint, "/tokenizer.json"),
                                 std::filesystem::copy_options::overwrite_existing, ec);
      if (ec) {
        return absl::InternalError(
            absl::StrCat(options.output_checkpoint, "/tokenizer.json: ", ec.message()));
      }
    }
    return result;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("training round: ", e.what_without_backtrace()));
  }
}

}  // namespace star
