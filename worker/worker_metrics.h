#ifndef STAR_WORKER_WORKER_METRICS_H_
#define STAR_WORKER_WORKER_METRICS_H_

// A worker's Prometheus metrics (docs/operations.md explains each):
//
//   star_worker_registered                              1 once registered with a coordinator
//   star_worker_lease_requests_total{outcome}           leased, empty, error
//   star_worker_shards_processed_total{kind,outcome}    submitted, duplicate, failed
//   star_worker_shard_duration_seconds{kind}            lease to acknowledged submission
//   star_worker_generation_duration_seconds{kind}       one batched call into the model
//   star_worker_generated_tokens_total{kind}
//   star_worker_samples_verified_total{kind,verdict}    the coordinator's verdicts
//   star_worker_checkpoint_load_duration_seconds        loading a shard's checkpoint
//
// kind is the shard kind: generate, evaluate or rationalize. The verifier's accept ratio is
// samples_verified_total{verdict="accepted"} over all verdicts. Thread-safe.

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "metrics/metric_registry.h"
#include "star/v1/coordinator.pb.h"

namespace star {

class WorkerMetrics {
 public:
  // Registers every family on `registry`, which must outlive this object.
  explicit WorkerMetrics(metrics::MetricRegistry* registry);
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  void SetRegistered(bool registered);
  // outcome: "leased", "empty" or "error".
  void RecordLeaseRequest(const std::string& outcome);
  void RecordCheckpointLoad(absl::Duration took);
  // One call into the model that generated `tokens` tokens.
  void RecordGeneration(star::v1::ShardKind kind, absl::Duration took, uint64_t tokens);
  // A shard's end. outcome: "submitted", "duplicate" (the coordinator had it already) or
  // "failed" (not submitted; its lease runs out). `took` runs from the lease.
  void RecordShard(star::v1::ShardKind kind, const std::string& outcome, absl::Duration took);
  // The coordinator's verdicts on a submitted shard's samples.
  void RecordVerdicts(star::v1::ShardKind kind, uint64_t accepted, uint64_t rejected);

 private:
  metrics::Family<metrics::Gauge>& registered_;
  metrics::Family<metrics::Counter>& lease_requests_;
  metrics::Family<metrics::Counter>& shards_;
  metrics::Family<metrics::Histogram>& shard_duration_;
  metrics::Family<metrics::Histogram>& generation_duration_;
  metrics::Family<metrics::Counter>& tokens_;
  metrics::Family<metrics::Counter>& samples_verified_;
  metrics::Family<metrics::Histogram>& checkpoint_load_;
};

}  // namespace star

#endif  // STAR_WORKER_WORKER_METRICS_H_
