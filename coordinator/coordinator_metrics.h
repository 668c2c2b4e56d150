#ifndef STAR_COORDINATOR_COORDINATOR_METRICS_H_
#define STAR_COORDINATOR_COORDINATOR_METRICS_H_

// The coordinator's Prometheus metrics. Two kinds:
//
//   events, counted where they happen (the Coordinator's handlers call the Record* methods):
//     star_coordinator_lease_shard_duration_seconds{outcome}     LeaseShard handler time
//     star_coordinator_shard_results_total{outcome}              SubmitShardResult outcomes
//     star_coordinator_questions_attempted_total{kind}           questions in completed shards
//     star_coordinator_samples_verified_total{kind,origin,verdict}
//   state, copied at every scrape from the queue, the registry, the round scheduler and the
//   jobs (CollectFrom):
//     star_coordinator_shards{state}, star_coordinator_shard_leases_expired_total,
//     star_coordinator_workers, star_coordinator_trainers, star_coordinator_rounds{state},
//     star_coordinator_waiting_calls{call} (LeaseShard, JoinRound and WatchJob calls open),
//     star_coordinator_rounds_ended_total{outcome}, and for the most recently submitted job
//     star_job_state, star_job_phase, star_job_iteration and the per-iteration results
//     (star_job_heldout_accuracy_ratio{bucket}, star_job_rationales_kept{origin}, ...).
//
// Only the latest job is exported, so job_id takes one value at a time; iteration and bucket
// are bounded by the job spec (at most 1000 iterations). docs/operations.md explains each metric.
//
// Thread-safe.

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/handler_events.h"
#include "metrics/metric_registry.h"
#include "star/v1/coordinator.pb.h"

namespace star {

class Coordinator;
class JobManager;
class JobsGrpcService;

class CoordinatorMetrics final : public HandlerEvents {
 public:
  // Registers every family on `registry`, which must outlive this object.
  explicit CoordinatorMetrics(metrics::MetricRegistry* registry);
  CoordinatorMetrics(const CoordinatorMetrics&) = delete;
  CoordinatorMetrics& operator=(const CoordinatorMetrics&) = delete;

  // HandlerEvents.
  void RecordLeaseShard(absl::Duration took, const std::string& outcome) override;
  void RecordShardResult(const std::string& outcome) override;
  void RecordQuestionsAttempted(star::v1::ShardKind kind, int64_t questions) override;
  void RecordVerifiedSample(star::v1::ShardKind kind, bool rationalized, bool accepted) override;

  // Adds a collector to the registry that copies the state of `coordinator` and `jobs` (and the
  // open WatchJob calls of `watch`, when given) into the gauges at every scrape. All must
  // outlive the registry's last Render().
  void CollectFrom(Coordinator* coordinator, const JobManager* jobs,
                   const JobsGrpcService* watch = nullptr);

  // "generate", "evaluate", "rationalize" or "unspecified": the kind label's values.
  static std::string KindLabel(star::v1::ShardKind kind);

 private:
  void Collect(Coordinator& coordinator, const JobManager& jobs, const JobsGrpcService* watch);

  metrics::MetricRegistry* registry_;

  metrics::Family<metrics::Histogram>& lease_duration_;
  metrics::Family<metrics::Counter>& shard_results_;
  metrics::Family<metrics::Counter>& questions_attempted_total_;
  metrics::Family<metrics::Counter>& samples_verified_;

  metrics::Family<metrics::Gauge>& shards_;
  metrics::Family<metrics::Counter>& leases_expired_;
  metrics::Family<metrics::Gauge>& workers_;
  metrics::Family<metrics::Gauge>& trainers_;
  metrics::Family<metrics::Gauge>& rounds_;
  metrics::Family<metrics::Counter>& rounds_ended_;
  metrics::Family<metrics::Gauge>& waiting_calls_;

  metrics::Family<metrics::Gauge>& job_state_;
  metrics::Family<metrics::Gauge>& job_phase_;
  metrics::Family<metrics::Gauge>& job_iteration_;
  metrics::Family<metrics::Gauge>& job_questions_attempted_;
  metrics::Family<metrics::Gauge>& job_rationales_kept_;
  metrics::Family<metrics::Gauge>& job_questions_rejected_;
  metrics::Family<metrics::Gauge>& job_accuracy_;
  metrics::Family<metrics::Gauge>& job_train_loss_;
  metrics::Family<metrics::Gauge>& job_phase_seconds_;

  // Totals kept elsewhere (the queue, the scheduler) already added to the counters above.
  absl::Mutex mu_;
  int64_t expired_seen_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t succeeded_seen_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_seen_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace star

#endif  // STAR_COORDINATOR_COORDINATOR_METRICS_H_
