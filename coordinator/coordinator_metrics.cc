#include "coordinator/coordinator_metrics.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "coordinator/coordinator.h"
#include "coordinator/grpc_services.h"
#include "coordinator/job_manager.h"
#include "star/v1/job.pb.h"

namespace star {
namespace {

using metrics::Counter;
using metrics::Family;
using metrics::Gauge;
using metrics::Histogram;
using metrics::MetricRegistry;

// Per-iteration families: at most 1000 iterations (ValidateJobSpec) times a few buckets.
constexpr size_t kIterationSeries = 20000;

// "PHASE_SEED" -> "seed", "JOB_STATE_RUNNING" -> "running".
std::string EnumLabel(const std::string& name, const std::string& prefix) {
  std::string label = name.starts_with(prefix) ? name.substr(prefix.size()) : name;
  absl::AsciiStrToLower(&label);
  return label;
}

}  // namespace

std::string CoordinatorMetrics::KindLabel(star::v1::ShardKind kind) {
  return EnumLabel(star::v1::ShardKind_Name(kind), "SHARD_KIND_");
}

CoordinatorMetrics::CoordinatorMetrics(MetricRegistry* registry)
    : registry_(registry),
      lease_duration_(registry->AddHistogram(
          "star_coordinator_lease_shard_duration_seconds",
          "Time the coordinator spent in LeaseShard (a long-poll: an empty outcome waited up to "
          "the poll time), by outcome.",
          // Up to 120 s: beyond the longest long-poll wait (30 s), so that a full wait lands in a
          // bucket of its own rather than in +Inf.
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
          {"outcome"})),
      shard_results_(registry->AddCounter(
          "star_coordinator_shard_results_total",
          "SubmitShardResult calls by outcome: completed, duplicate (already done, ignored) or "
          "refused (an error status; nothing changed).",
          {"outcome"})),
      questions_attempted_total_(registry->AddCounter(
          "star_coordinator_questions_attempted_total",
          "Questions answered in completed shards, by shard kind.", {"kind"})),
      samples_verified_(registry->AddCounter(
          "star_coordinator_samples_verified_total",
          "Samples the coordinator re-verified with the task, by shard kind, origin (direct, or "
          "rationalized: generated with the answer as a hint) and verdict.",
          {"kind", "origin", "verdict"})),
      shards_(registry->AddGauge("star_coordinator_shards",
                                 "Shards of the current pass by state (pending, leased, done).",
                                 {"state"})),
      leases_expired_(registry->AddCounter(
          "star_coordinator_shard_leases_expired_total",
          "Shard leases that ran out without a result; their shards went back to the queue.")),
      workers_(registry->AddGauge("star_coordinator_workers",
                                  "Workers heard from within the member timeout.")),
      trainers_(registry->AddGauge("star_coordinator_trainers",
                                   "Trainer ranks heard from within the member timeout.")),
      rounds_(registry->AddGauge("star_coordinator_rounds",
                                 "Training rounds waiting for ranks (forming) or running.",
                                 {"state"})),
      rounds_ended_(registry->AddCounter("star_coordinator_rounds_ended_total",
                                         "Training rounds that ended, by outcome.", {"outcome"})),
      waiting_calls_(registry->AddGauge(
          "star_coordinator_waiting_calls",
          "Calls waiting in the coordinator now, none of them holding a thread: LeaseShard "
          "long-polls, JoinRound long-polls and open WatchJob streams.",
          {"call"})),
      job_state_(registry->AddGauge(
          "star_job_state",
          "1 for the state the latest job is in (pending, running, succeeded, failed, "
          "cancelled), 0 for the others.",
          {"job_id", "state"})),
      job_phase_(registry->AddGauge(
          "star_job_phase",
          "1 for the phase the latest job is in (seed, generate, rationalize, train, evaluate, "
          "done), 0 for the others.",
          {"job_id", "phase"})),
      job_iteration_(registry->AddGauge(
          "star_job_iteration", "The STaR iteration the latest job is in (0: seed stage and M0).",
          {"job_id"})),
      job_questions_attempted_(registry->AddGauge(
          "star_job_questions_attempted",
          "Training questions asked in an iteration's generation pass.", {"job_id", "iteration"},
          kIterationSeries)),
      job_rationales_kept_(registry->AddGauge(
          "star_job_rationales_kept",
          "Verified rationales an iteration kept for training (after deduplication and the "
          "per-question cap), by origin: direct or rationalized.",
          {"job_id", "iteration", "origin"}, kIterationSeries)),
      job_questions_rejected_(registry->AddGauge(
          "star_job_questions_rejected",
          "Training questions of an iteration left without a kept rationale (every sample "
          "failed verification).",
          {"job_id", "iteration"}, kIterationSeries)),
      job_accuracy_(registry->AddGauge(
          "star_job_heldout_accuracy_ratio",
          "Accuracy of the iteration's model on the held-out split, per bucket (operand length), "
          "greedy and without hints; iteration 0 is M0.",
          {"job_id", "iteration", "bucket"}, kIterationSeries)),
      job_train_loss_(registry->AddGauge(
          "star_job_train_loss",
          "Final training loss of an iteration's round (mean over ranks of the last steps).",
          {"job_id", "iteration"}, kIterationSeries)),
      job_phase_seconds_(registry->AddGauge(
          "star_job_phase_duration_seconds",
          "Wall time of an iteration's generate, train and evaluate phases.",
          {"job_id", "iteration", "phase"}, kIterationSeries)) {
  // Series that exist from the start, so that rates and ratios have a zero to start from.
  for (const char* outcome : {"leased", "empty", "error"}) lease_duration_.WithLabels({outcome});
  for (const char* outcome : {"completed", "duplicate", "refused"}) {
    shard_results_.WithLabels({outcome});
  }
  for (const char* kind : {"generate", "evaluate"}) questions_attempted_total_.WithLabels({kind});
  for (const char* verdict : {"accepted", "rejected"}) {
    samples_verified_.WithLabels({"generate", "direct", verdict});
    samples_verified_.WithLabels({"generate", "rationalized", verdict});
    samples_verified_.WithLabels({"evaluate", "direct", verdict});
  }
  for (const char* state : {"pending", "leased", "done"}) shards_.WithLabels({state});
  leases_expired_.Get();
  workers_.Get();
  trainers_.Get();
  for (const char* state : {"forming", "running"}) rounds_.WithLabels({state});
  for (const char* outcome : {"succeeded", "failed"}) rounds_ended_.WithLabels({outcome});
}

void CoordinatorMetrics::RecordLeaseShard(absl::Duration took, const std::string& outcome) {
  lease_duration_.WithLabels({outcome}).Observe(absl::ToDoubleSeconds(took));
}

void CoordinatorMetrics::RecordShardResult(const std::string& outcome) {
  shard_results_.WithLabels({outcome}).Increment();
}

void CoordinatorMetrics::RecordQuestionsAttempted(star::v1::ShardKind kind, int64_t questions) {
  questions_attempted_total_.WithLabels({KindLabel(kind)})
      .Increment(static_cast<double>(questions));
}

void CoordinatorMetrics::RecordVerifiedSample(star::v1::ShardKind kind, bool rationalized,
                                              bool accepted) {
  samples_verified_
      .WithLabels({KindLabel(kind), rationalized ? "rationalized" : "direct",
                   accepted ? "accepted" : "rejected"})
      .Increment();
}

void CoordinatorMetrics::CollectFrom(Coordinator* coordinator, const JobManager* jobs,
                                     const JobsGrpcService* watch) {
  registry_->AddCollector(
      [this, coordinator, jobs, watch] { Collect(*coordinator, *jobs, watch); });
}

void CoordinatorMetrics::Collect(Coordinator& coordinator, const JobManager& jobs,
                                 const JobsGrpcService* watch) {
  waiting_calls_.WithLabels({"lease_shard"})
      .Set(static_cast<double>(coordinator.shards().LeaseWaiters()));
  waiting_calls_.WithLabels({"join_round"})
      .Set(static_cast<double>(coordinator.rounds().Waiting()));
  waiting_calls_.WithLabels({"watch_job"})
      .Set(watch == nullptr ? 0 : static_cast<double>(watch->open_watchers()));
  ShardCounts shards = coordinator.shards().Counts();
  shards_.WithLabels({"pending"}).Set(static_cast<double>(shards.pending));
  shards_.WithLabels({"leased"}).Set(static_cast<double>(shards.leased));
  shards_.WithLabels({"done"}).Set(static_cast<double>(shards.done));
  star::v1::ClusterStatus cluster = coordinator.GetCluster();
  workers_.Get().Set(cluster.workers_size());
  trainers_.Get().Set(cluster.trainers_size());
  RoundCounts rounds = coordinator.rounds().Counts();
  rounds_.WithLabels({"forming"}).Set(static_cast<double>(rounds.forming));
  rounds_.WithLabels({"running"}).Set(static_cast<double>(rounds.running));
  {
    // The queue and the scheduler keep totals; the counters take what is new since last time.
    absl::MutexLock lock(&mu_);
    leases_expired_.Get().Increment(static_cast<double>(shards.expired_total - expired_seen_));
    expired_seen_ = std::max(expired_seen_, shards.expired_total);
    rounds_ended_.WithLabels({"succeeded"})
        .Increment(static_cast<double>(rounds.succeeded - succeeded_seen_));
    succeeded_seen_ = std::max(succeeded_seen_, rounds.succeeded);
    rounds_ended_.WithLabels({"failed"})
        .Increment(static_cast<double>(rounds.failed - failed_seen_));
    failed_seen_ = std::max(failed_seen_, rounds.failed);
  }

  // Job series are rebuilt from the latest job's status at every scrape, so that a new job's
  // series replace the previous job's.
  for (Family<Gauge>* family :
       {&job_state_, &job_phase_, &job_iteration_, &job_questions_attempted_,
        &job_rationales_kept_, &job_questions_rejected_, &job_accuracy_, &job_train_loss_,
        &job_phase_seconds_}) {
    family->Clear();
  }
  std::vector<star::v1::JobStatus> all = jobs.List();
  const star::v1::JobStatus* latest = nullptr;
  for (const star::v1::JobStatus& s : all) {
    if (latest == nullptr || s.created_unix_ms() >= latest->created_unix_ms()) latest = &s;
  }
  if (latest == nullptr) return;
  const std::string& id = latest->job_id();
  for (int state = star::v1::JOB_STATE_PENDING; state <= star::v1::JOB_STATE_CANCELLED; ++state) {
    job_state_
        .WithLabels({id, EnumLabel(star::v1::JobState_Name(state), "JOB_STATE_")})
        .Set(latest->state() == state ? 1 : 0);
  }
  for (int phase = star::v1::PHASE_SEED; phase <= star::v1::PHASE_DONE; ++phase) {
    job_phase_.WithLabels({id, EnumLabel(star::v1::Phase_Name(phase), "PHASE_")})
        .Set(latest->phase() == phase ? 1 : 0);
  }
  job_iteration_.WithLabels({id}).Set(latest->iteration());
  for (const star::v1::IterationResult& r : latest->results()) {
    const std::string iteration = absl::StrCat(r.iteration());
    for (const star::v1::BucketAccuracy& b : r.accuracy()) {
      job_accuracy_.WithLabels({id, iteration, b.bucket()})
          .Set(b.total() > 0 ? static_cast<double>(b.correct()) / b.total() : 0);
    }
    job_phase_seconds_.WithLabels({id, iteration, "evaluate"}).Set(r.evaluate_seconds());
    // Iteration 0 (M0) has no generation pass or round of its own.
    if (r.iteration() == 0) continue;
    job_questions_attempted_.WithLabels({id, iteration}).Set(r.questions_attempted());
    job_rationales_kept_.WithLabels({id, iteration, "direct"}).Set(r.accepted_direct());
    job_rationales_kept_.WithLabels({id, iteration, "rationalized"}).Set(r.accepted_rationalized());
    job_questions_rejected_.WithLabels({id, iteration}).Set(r.rejected());
    job_phase_seconds_.WithLabels({id, iteration, "generate"}).Set(r.generate_seconds());
    if (r.train_steps() > 0) {
      job_train_loss_.WithLabels({id, iteration}).Set(r.train_loss());
      job_phase_seconds_.WithLabels({id, iteration, "train"}).Set(r.train_seconds());
    }
  }
}

}  // namespace star
