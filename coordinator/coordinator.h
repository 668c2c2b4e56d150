#ifndef STAR_COORDINATOR_COORDINATOR_H_
#define STAR_COORDINATOR_COORDINATOR_H_

// The coordinator's handlers, free of transport: grpc_services.h adapts them to gRPC, and unit
// tests call them directly. Owns the cluster registry and the shard queue.
//
// Thread-safe: every handler may run concurrently with every other.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/cluster_registry.h"
#include "coordinator/handler_events.h"
#include "coordinator/round_scheduler.h"
#include "coordinator/shard_queue.h"
#include "coordinator/state_store.h"
#include "star/v1/coordinator.pb.h"
#include "star/v1/jobs.pb.h"
#include "star/v1/training.pb.h"

namespace star {


struct CoordinatorOptions {
  // Lease length for shards handed to workers.
  absl::Duration lease_timeout = absl::Seconds(60);
  // Longest long-poll a client may ask for (LeaseShard, JoinRound); longer asks are capped.
  absl::Duration max_wait = absl::Seconds(30);
  // Members not heard from for this long are left out of GetCluster.
  absl::Duration member_timeout = absl::Seconds(90);
  // A shard whose lease ran out this many times is given up (see ShardQueue).
  int max_shard_leases = 5;
  // Where completions, accepted rationales and evaluation outcomes are committed before a
  // worker hears of them; not owned, must outlive the coordinator. nullptr: a private in-memory
  // store (nothing survives the process).
  StateStore* store = nullptr;
  // Where handlers report what they do (lease times, results, verified samples): the metrics;
  // not owned, must outlive the coordinator. nullptr: nothing is reported.
  HandlerEvents* metrics = nullptr;
};

class Coordinator {
 public:
  explicit Coordinator(CoordinatorOptions options);

  // Waits for the submissions whose commit is still under way.
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Coordinator service. Errors: kInvalidArgument naming the bad field; kNotFound for an
  // unregistered worker_id or unknown lease/shard; kFailedPrecondition for an expired lease;
  // kUnavailable once shutting down.
  absl::StatusOr<star::v1::RegisterWorkerResponse> RegisterWorker(
      const star::v1::RegisterWorkerRequest& request);
  absl::StatusOr<star::v1::LeaseShardResponse> LeaseShard(
      const star::v1::LeaseShardRequest& request);
  // LeaseShard() without a thread held while it waits (ShardQueue::LeaseAsync): `done` is
  // called exactly once, at once for a refused request or an immediate answer, later from the
  // queue's dispatcher thread for a wait.
  void LeaseShardAsync(const star::v1::LeaseShardRequest& request,
                       std::function<void(absl::StatusOr<star::v1::LeaseShardResponse>)> done);
  absl::StatusOr<star::v1::RenewLeaseResponse> RenewLease(
      const star::v1::RenewLeaseRequest& request);
  // Checks the whole request against the coordinator's copy of the shard first (a result for a
  // question not in the shard, too many samples, an oversized completion: kInvalidArgument
  // naming the field, and nothing changes), then checks the lease, verifies every sample with
  // the task itself and commits the shard's completion with the accepted samples of generation
  // shards (and the outcomes of evaluation shards) to the state store; the response is sent
  // only once that commit is on disk. A shard already completed is acknowledged with
  // duplicate=true and changes nothing. kUnavailable when the store cannot be written.
  absl::StatusOr<star::v1::SubmitShardResultResponse> SubmitShardResult(
      const star::v1::SubmitShardResultRequest& request);
  // SubmitShardResult() without a thread held while the commit is under way: the request is
  // checked and its samples verified on the calling thread; `done` is called exactly once, at
  // once for a refused or duplicate submission, otherwise from the store's commit thread once
  // the commit is on disk.
  void SubmitShardResultAsync(
      const star::v1::SubmitShardResultRequest& request,
      std::function<void(absl::StatusOr<star::v1::SubmitShardResultResponse>)> done);

  // Training service: a trainer rank announces itself and waits to be placed into a round
  // (see RoundScheduler); without one formed in time the call returns no assignment.
  absl::StatusOr<star::v1::JoinRoundResponse> JoinRound(
      const star::v1::JoinRoundRequest& request);
  // JoinRound() without a thread held while it waits (RoundScheduler::JoinAsync): `done` is
  // called exactly once, at once for a refused request or an immediate answer, later from
  // whichever thread forms the round or ends the wait.
  void JoinRoundAsync(const star::v1::JoinRoundRequest& request,
                      std::function<void(absl::StatusOr<star::v1::JoinRoundResponse>)> done);
  absl::StatusOr<std::vector<star::v1::TrainingExample>> RoundExamples(
      const star::v1::StreamExamplesRequest& request) const;
  absl::Status ReportRound(const star::v1::ReportRoundRequest& request);
  absl::Status ReportStep(const star::v1::ReportStepRequest& request);

  // Jobs service.
  star::v1::ClusterStatus GetCluster() const;

  // Ends every long-poll at once and makes later ones return immediately.
  void BeginShutdown();

  ShardQueue& shards() { return shards_; }
  // The durable state: accepted rationales, evaluation outcomes, jobs, shards, rounds.
  StateStore& store() { return *store_; }
  const StateStore& store() const { return *store_; }
  RoundScheduler& rounds() { return rounds_; }
  int max_shard_leases() const { return options_.max_shard_leases; }
  // Tokens the workers say they generated for completed shards (for progress display only).
  uint64_t generated_tokens() const { return generated_tokens_.load(); }

 private:
  // LeaseShardAsync() without its metrics (the lease that comes with a submission's answer).
  void LeaseUncounted(const star::v1::LeaseShardRequest& request,
                      std::function<void(absl::StatusOr<star::v1::LeaseShardResponse>)> done);
  struct VerifiedSubmission;
  // Checks a submission against the shard and its lease and verifies every sample; nullopt
  // for a shard already completed (a duplicate).
  absl::StatusOr<std::optional<VerifiedSubmission>> CheckAndVerify(
      const star::v1::SubmitShardResultRequest& request);

  const CoordinatorOptions options_;
  ClusterRegistry registry_;
  ShardQueue shards_;
  std::unique_ptr<StateStore> own_store_;
  StateStore* store_;
  RoundScheduler rounds_;
  std::atomic<uint64_t> generated_tokens_ = 0;
  absl::Mutex in_flight_mu_;
  int in_flight_commits_ ABSL_GUARDED_BY(in_flight_mu_) = 0;
};

}  // namespace star

#endif  // STAR_COORDINATOR_COORDINATOR_H_
