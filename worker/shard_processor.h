#ifndef STAR_WORKER_SHARD_PROCESSOR_H_
#define STAR_WORKER_SHARD_PROCESSOR_H_

// What a worker does with a leased shard: generate completions for its questions, check them
// with the task's verifier, and for a generation shard with rationalization on, ask again with
// the gold answer as a hint for the questions no sample answered right. The result is what the
// worker submits; the coordinator verifies every sample again itself.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/sampling_options.h"
#include "star/v1/coordinator.pb.h"
#include "tasks/task.h"

namespace star {

// Something that continues prompts: the model in production (TextGenerator), a scripted fake in
// tests. Returns one Completion per prompt, in order.
using CompletionSource = std::function<absl::StatusOr<std::vector<Completion>>(
    const std::vector<std::string>& prompts, const SamplingOptions& options)>;

struct ShardOutcome {
  star::v1::SubmitShardResultRequest request;  // results filled; ids left to the caller
  int direct_correct = 0;         // questions a direct sample answered right (worker's check)
  int rationalized_correct = 0;   // questions only a hinted sample answered right
  uint64_t generated_tokens = 0;
};

// Processes `shard` with `task` (which must match shard.task) and `generate`.
// kInvalidArgument for a shard without questions or with an unknown kind; the generator's errors
// otherwise. `stop_strings`/EOS come from the task and the model.
absl::StatusOr<ShardOutcome> ProcessShard(const star::v1::Shard& shard, const Task& task,
                                          bool rationalization, const CompletionSource& generate);

// The sampling options a shard asks for (evaluation is always greedy, one sample).
SamplingOptions SamplingFor(const star::v1::Shard& shard, const Task& task, uint64_t seed);

}  // namespace star

#endif  // STAR_WORKER_SHARD_PROCESSOR_H_
