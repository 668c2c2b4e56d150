#ifndef STAR_TRAINER_ROUND_TRAINER_H_
#define STAR_TRAINER_ROUND_TRAINER_H_

// One data-parallel training round of one rank: load the base model, train it for a fixed
// number of steps with gradients averaged across ranks, and (rank 0) write the result as a
// Hugging Face model directory. Every rank holds all the round's examples and draws the same
// seeded global batches; rank r trains on slice r of each, and the loss is the mean over the
// global batch's completion tokens. A round therefore trains on the same batches whatever its
// world size: the same round re-run with fewer ranks gives the same model up to float rounding.
// The model is written in the base checkpoint's dtype whatever precision the round computed in.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/causal_lm_batch.h"
#include "model/compute_device.h"
#include "trainer/collective.h"
#include "trainer/step_stats.h"

namespace star {

struct RoundOptions {
  // Always the base model M(0) (STaR never continues from the previous iteration's model).
  std::string base_checkpoint;
  // Written by rank 0 only: config.json, model.safetensors and the base's tokenizer.json (and
  // generation_config.json). Empty: nothing is written (benchmarks).
  std::string output_checkpoint;
  int64_t steps = 100;
  double learning_rate = 1e-4;
  // Linear warm-up from 0 over this many steps, then constant (the paper's schedule), or with
  // linear_decay falling linearly to 0 at the last step.
  int64_t warmup_steps = 0;
  bool linear_decay = false;
  // Global gradient-norm clipping (0: none).
  double grad_clip = 1.0;
  double weight_decay = 0.0;
  // Sequences per optimiser step over all ranks; each rank takes global / world_size.
  int64_t global_batch_size = 8;
  uint64_t seed = 0;
  int64_t max_length = 1024;
  // Where the round trains. The parameters and AdamW's moments are float32 on it; with
  // precision bf16 (kAuto on CUDA) the forward and backward passes compute in bfloat16 under
  // autocast, so the float32 weights are the master copy and each step's update is exact.
  ComputeDevice device;
  Precision precision = Precision::kAuto;
  // LlamaModel::set_activation_checkpointing: less activation memory, more compute.
  bool activation_checkpointing = false;
  // Called after every step (may be empty); for metrics.
  std::function<void(const StepStats&)> step_observer;
  // Asked before every step (may be empty). When it returns true on any rank, every rank stops
  // before that same step (the answers travel with the step's first all-reduce) and the round
  // returns kAborted without writing a checkpoint: e.g. the coordinator no longer knows it.
  std::function<bool()> stop_requested;
};

struct RoundResult {
  int64_t steps = 0;
  // Mean loss over the last min(10, steps) steps, averaged over ranks.
  double final_loss = 0;
  double tokens_per_second = 0;  // this rank's tokens
  double seconds = 0;
  double allreduce_seconds = 0;
};

// The learning rate of 0-based `step`: linear warm-up, then constant or (linear_decay) falling
// linearly to learning_rate / (steps - warmup_steps) at the last step.
double LearningRateAt(const RoundOptions& options, int64_t step);

// Trains as described above. `examples` are all the round's examples (at least one). `progress` (may
// be empty) is called after every step with (step, loss). Errors: kInvalidArgument for options
// that make no sense; the base checkpoint's load errors; the collective's errors
// (kDeadlineExceeded/kUnavailable when another rank died); kAborted when a rank's
// stop_requested said so; kInternal for libtorch failures.
absl::StatusOr<RoundResult> RunTrainingRound(
    const RoundOptions& options, const std::vector<PromptCompletion>& examples,
    Collective& collective, const std::function<void(int64_t, double)>& progress = {});

}  // namespace star

#endif  // STAR_TRAINER_ROUND_TRAINER_H_
