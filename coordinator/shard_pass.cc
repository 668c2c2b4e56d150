#include "coordinator/shard_pass.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "log/log.h"

namespace star {

absl::Status RunShardPass(Coordinator& coordinator, const ShardPass& pass,
                          const std::function<bool()>& cancelled, const PassProgress& progress) {
  ShardQueue& queue = coordinator.shards();
  queue.Clear();
  StateStore& store = coordinator.store();
  absl::StatusOr<std::vector<StoredShard>> stored = store.ShardsOfPass(pass.job_id, pass.iteration, pass.kind);
  if (!stored.ok()) return stored.status();
  const std::vector<star::v1::ShardQuestion>& questions = *pass.questions;
  std::vector<star::v1::Shard> created;
  const size_t shard_size = std::max<uint32_t>(1, pass.shard_size);
  for (size_t first = 0; stored->empty() && first < questions.size(); first += shard_size) {
    star::v1::Shard shard;
    shard.set_shard_id(absl::StrFormat("%s-i%d-%s-%d", pass.job_id, pass.iteration,
                                       pass.kind == star::v1::SHARD_KIND_EVALUATE ? "eval" : "gen",
                                       first / shard_size));
    shard.set_job_id(pass.job_id);
    shard.set_iteration(pass.iteration);
    shard.set_kind(pass.kind);
    shard.set_checkpoint_id(pass.checkpoint_id);
    shard.set_checkpoint_path(pass.checkpoint);
    *shard.mutable_generation() = pass.generation;
    *shard.mutable_task() = pass.task;
    *shard.mutable_compute() = pass.compute;
    shard.set_rationalize(pass.rationalize);
    for (size_t i = first; i < std::min(questions.size(), first + shard_size); ++i) {
      *shard.add_questions() = questions[i];
    }
    created.push_back(std::move(shard));
  }
  if (!created.empty()) {
    if (absl::Status s = store.AddShards(created); !s.ok()) return s;
    for (star::v1::Shard& shard : created) stored->push_back(StoredShard{std::move(shard), false});
  }
  const uint32_t shards = static_cast<uint32_t>(stored->size());
  uint32_t resumed_done = 0;
  for (StoredShard& s : *stored) {
    resumed_done += s.done ? 1 : 0;
    if (absl::Status added = queue.Add(std::move(s.shard), s.done); !added.ok()) return added;
  }
  if (resumed_done > 0) {
    STAR_LOG(INFO) << "job " << pass.job_id << ": resuming a pass with " << resumed_done << " of "
                   << shards << " shards done";
  }
  progress(resumed_done, shards, 0);
  const absl::Time start = absl::Now();
  const uint64_t tokens_before = coordinator.generated_tokens();
  int64_t ended = -1;
  double rate = 0;
  while (!queue.AllDone()) {
    if (cancelled()) return absl::CancelledError("cancelled");
    if (std::optional<std::string> failed = queue.FailedShard()) {
      return absl::AbortedError(absl::StrFormat(
          "shard %s was leased %d times and never completed: every worker that took it failed "
          "or died (see the workers' logs)",
          *failed, coordinator.max_shard_leases()));
    }
    ended = queue.WaitForProgress(ended, absl::Seconds(1));
    rate = static_cast<double>(coordinator.generated_tokens() - tokens_before) /
                        std::max(1e-3, absl::ToDoubleSeconds(absl::Now() - start));
    progress(static_cast<uint32_t>(queue.Counts().done), shards, rate);
  }
  progress(shards, shards, rate);
  return absl::OkStatus();
}

}  // namespace star
