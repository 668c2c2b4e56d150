#include "worker/worker_metrics.h"

#include "absl/strings/ascii.h"

namespace star {
namespace {

using metrics::ExponentialBuckets;

// SHARD_KIND_GENERATE -> "generate".
std::string Kind(star::v1::ShardKind kind) {
  std::string name = star::v1::ShardKind_Name(kind);
  constexpr std::string_view kPrefix = "SHARD_KIND_";
  if (name.starts_with(kPrefix)) name = name.substr(kPrefix.size());
  absl::AsciiStrToLower(&name);
  return name;
}

}  // namespace

WorkerMetrics::WorkerMetrics(metrics::MetricRegistry* registry)
    : registered_(registry->AddGauge("star_worker_registered",
                                     "1 while this worker is registered with a coordinator.")),
      lease_requests_(registry->AddCounter(
          "star_worker_lease_requests_total",
          "LeaseShard long-polls by outcome: leased (a shard came), empty (none within the "
          "poll time) or error (the coordinator was unreachable or refused).",
          {"outcome"})),
      shards_(registry->AddCounter(
          "star_worker_shards_processed_total",
          "Shards this worker finished, by kind and outcome: submitted, duplicate (another "
          "worker's result was there first) or failed (not submitted; the lease runs out).",
          {"kind", "outcome"})),
      shard_duration_(registry->AddHistogram(
          "star_worker_shard_duration_seconds",
          "Time from leasing a shard to its acknowledged submission, by kind.",
          ExponentialBuckets(0.1, 2, 15), {"kind"})),
      generation_duration_(registry->AddHistogram(
          "star_worker_generation_duration_seconds",
          "Time of one batched generation call into the model, by shard kind.",
          ExponentialBuckets(0.01, 2, 16), {"kind"})),
      tokens_(registry->AddCounter("star_worker_generated_tokens_total",
                                   "Tokens generated, by shard kind.", {"kind"})),
      samples_verified_(registry->AddCounter(
          "star_worker_samples_verified_total",
          "Samples of submitted shards as the coordinator's verifier judged them, by shard kind "
          "and verdict (accepted or rejected).",
          {"kind", "verdict"})),
      checkpoint_load_(registry->AddHistogram(
          "star_worker_checkpoint_load_duration_seconds",
          "Time to load a checkpoint a shard names (a worker keeps the last one loaded).",
          ExponentialBuckets(0.01, 2, 14))) {
  registered_.Get();
  for (const char* outcome : {"leased", "empty", "error"}) lease_requests_.WithLabels({outcome});
  for (const char* kind : {"generate", "evaluate"}) {
    for (const char* outcome : {"submitted", "duplicate", "failed"}) {
      shards_.WithLabels({kind, outcome});
    }
    shard_duration_.WithLabels({kind});
    generation_duration_.WithLabels({kind});
    tokens_.WithLabels({kind});
    samples_verified_.WithLabels({kind, "accepted"});
    samples_verified_.WithLabels({kind, "rejected"});
  }
  checkpoint_load_.Get();
}

void WorkerMetrics::SetRegistered(bool registered) { registered_.Get().Set(registered ? 1 : 0); }

void WorkerMetrics::RecordLeaseRequest(const std::string& outcome) {
  lease_requests_.WithLabels({outcome}).Increment();
}

void WorkerMetrics::RecordCheckpointLoad(absl::Duration took) {
  checkpoint_load_.Get().Observe(absl::ToDoubleSeconds(took));
}

void WorkerMetrics::RecordGeneration(star::v1::ShardKind kind, absl::Duration took,
                                     uint64_t tokens) {
  generation_duration_.WithLabels({Kind(kind)}).Observe(absl::ToDoubleSeconds(took));
  tokens_.WithLabels({Kind(kind)}).Increment(static_cast<double>(tokens));
}

void WorkerMetrics::RecordShard(star::v1::ShardKind kind, const std::string& outcome,
                                absl::Duration took) {
  shards_.WithLabels({Kind(kind), outcome}).Increment();
  if (outcome != "failed") {
    shard_duration_.WithLabels({Kind(kind)}).Observe(absl::ToDoubleSeconds(took));
  }
}

void WorkerMetrics::RecordVerdicts(star::v1::ShardKind kind, uint64_t accepted, uint64_t rejected) {
  samples_verified_.WithLabels({Kind(kind), "accepted"}).Increment(static_cast<double>(accepted));
  samples_verified_.WithLabels({Kind(kind), "rejected"}).Increment(static_cast<double>(rejected));
}

}  // namespace star
