#ifndef STAR_COORDINATOR_SHARD_PASS_H_
#define STAR_COORDINATOR_SHARD_PASS_H_

// One pass of a job over a list of questions through the coordinator's shard queue: the
// questions cut into shards (recorded in the state store before any is leased; a pass resumed
// after a restart goes on with the shards it recorded), leased by workers, and waited for until
// every shard is done. The wait wakes on each completed shard, not on a timer.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "coordinator/coordinator.h"
#include "star/v1/coordinator.pb.h"
#include "star/v1/job.pb.h"

namespace star {

struct ShardPass {
  std::string job_id;
  uint32_t iteration = 0;
  star::v1::ShardKind kind = star::v1::SHARD_KIND_GENERATE;
  // The model the workers load, by id and path.
  std::string checkpoint_id;
  std::string checkpoint;
  const std::vector<star::v1::ShardQuestion>* questions = nullptr;
  // Copied into every shard.
  star::v1::GenerationSpec generation;
  star::v1::TaskSpec task;
  star::v1::ComputeSpec compute;
  bool rationalize = false;
  uint32_t shard_size = 64;
};

// What a pass reports while it waits: shards done of all, and the workers' tokens per second.
using PassProgress = std::function<void(uint32_t done, uint32_t total, double tokens_per_second)>;

// Runs the pass to its end: OK once every shard is done; kCancelled as soon as `cancelled`
// says so (it is asked at least every second); kAborted naming a shard that failed (leased
// the coordinator's maximum number of times without completing).
absl::Status RunShardPass(Coordinator& coordinator, const ShardPass& pass,
                          const std::function<bool()>& cancelled, const PassProgress& progress);

}  // namespace star

#endif  // STAR_COORDINATOR_SHARD_PASS_H_
