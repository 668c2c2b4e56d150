#include "coordinator/coordinator.h"

#include <algorithm>
#include <cstdlib>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "coordinator/await_answer.h"
#include "tasks/task_factory.h"

namespace star {
namespace {

constexpr size_t kMaxHostnameLength = 253;
constexpr size_t kMaxCompletionBytes = 64 << 10;
constexpr size_t kMaxIdLength = 128;

absl::Status CheckText(std::string_view field, const std::string& value, size_t max_length,
                       bool required) {
  if (required && value.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat("%s is required", field));
  }
  if (value.size() > max_length) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is %d bytes long; at most %d", field, value.size(), max_length));
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

std::unique_ptr<StateStore> InMemoryStore() {
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(":memory:");
  // Opening an in-memory database fails only when memory is exhausted.
  if (!store.ok()) std::abort();
  return *std::move(store);
}

}  // namespace

Coordinator::Coordinator(CoordinatorOptions options)
    : options_(options),
      shards_(absl::Now, options.max_shard_leases),
      own_store_(options.store == nullptr ? InMemoryStore() : nullptr),
      store_(options.store == nullptr ? own_store_.get() : options.store) {}

absl::StatusOr<star::v1::RegisterWorkerResponse> Coordinator::RegisterWorker(
    const star::v1::RegisterWorkerRequest& request) {
  if (absl::Status s = CheckText("hostname", request.hostname(), kMaxHostnameLength, true);
      !s.ok()) {
    return s;
  }
  star::v1::RegisterWorkerResponse response;
  response.set_worker_id(registry_.RegisterWorker(request.hostname()));
  response.set_renew_interval_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(options_.lease_timeout / 3)));
  return response;
}

absl::StatusOr<star::v1::LeaseShardResponse> Coordinator::LeaseShard(
    const star::v1::LeaseShardRequest& request) {
  return AwaitAnswer<absl::StatusOr<star::v1::LeaseShardResponse>>(
      [&](auto done) { LeaseShardAsync(request, done); });
}

void Coordinator::LeaseShardAsync(
    const star::v1::LeaseShardRequest& request,
    std::function<void(absl::StatusOr<star::v1::LeaseShardResponse>)> done) {
  const absl::Time start = absl::Now();
  HandlerEvents* metrics = options_.metrics;
  LeaseUncounted(request, [metrics, start, done = std::move(done)](
                              absl::StatusOr<star::v1::LeaseShardResponse> response) {
    if (metrics != nullptr) {
      metrics->RecordLeaseShard(
          absl::Now() - start,
          !response.ok() ? "error" : response->lease_id().empty() ? "empty" : "leased");
    }
    done(std::move(response));
  });
}

void Coordinator::LeaseUncounted(
    const star::v1::LeaseShardRequest& request,
    std::function<void(absl::StatusOr<star::v1::LeaseShardResponse>)> done) {
  if (absl::Status s = CheckText("worker_id", request.worker_id(), kMaxIdLength, true); !s.ok()) {
    return done(s);
  }
  if (absl::Status s = registry_.TouchWorker(request.worker_id()); !s.ok()) return done(s);
  const absl::Duration wait = std::min(absl::Milliseconds(request.wait_ms()), options_.max_wait);
  // `done` is copied into the queue's callback; the queue calls exactly one copy, or refuses
  // the wait and calls none.
  absl::Status queued = shards_.LeaseAsync(
      request.worker_id(), options_.lease_timeout, wait,
      [done](std::optional<ShardLease> lease) {
        star::v1::LeaseShardResponse response;
        if (lease) {
          response.set_lease_id(lease->lease_id);
          *response.mutable_shard() = *lease->shard;
          response.set_lease_expires_unix_ms(absl::ToUnixMillis(lease->expires));
        }
        done(std::move(response));
      });
  if (!queued.ok()) done(queued);
}

absl::StatusOr<star::v1::RenewLeaseResponse> Coordinator::RenewLease(
    const star::v1::RenewLeaseRequest& request) {
  if (absl::Status s = CheckText("worker_id", request.worker_id(), kMaxIdLength, true); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckText("lease_id", request.lease_id(), kMaxIdLength, true); !s.ok()) {
    return s;
  }
  if (absl::Status s = registry_.TouchWorker(request.worker_id()); !s.ok()) return s;
  absl::StatusOr<absl::Time> expires =
      shards_.Renew(request.worker_id(), request.lease_id(), options_.lease_timeout);
  if (!expires.ok()) return expires.status();
  star::v1::RenewLeaseResponse response;
  response.set_lease_expires_unix_ms(absl::ToUnixMillis(*expires));
  return response;
}

absl::StatusOr<star::v1::SubmitShardResultResponse> Coordinator::SubmitShardResult(
    const star::v1::SubmitShardResultRequest& request) {
  return AwaitAnswer<absl::StatusOr<star::v1::SubmitShardResultResponse>>(
      [&](auto done) { SubmitShardResultAsync(request, done); });
}

// What a checked and verified submission commits, and what its worker hears once it is durable.
struct Coordinator::VerifiedSubmission {
  StateStore::ShardCompletion record;
  star::v1::SubmitShardResultResponse response;
  star::v1::ShardKind kind = star::v1::SHARD_KIND_UNSPECIFIED;
  int questions = 0;
  uint64_t generated_tokens = 0;
  bool lease_next = false;
  struct Verdict {
    bool rationalized;
    bool verified;
  };
  std::vector<Verdict> verdicts;
};

void Coordinator::SubmitShardResultAsync(
    const star::v1::SubmitShardResultRequest& request,
    std::function<void(absl::StatusOr<star::v1::SubmitShardResultResponse>)> done) {
  HandlerEvents* metrics = options_.metrics;
  auto answer = [metrics, done = std::move(done)](
                    absl::StatusOr<star::v1::SubmitShardResultResponse> response) {
    if (metrics != nullptr) {
      metrics->RecordShardResult(!response.ok()          ? "refused"
                                 : response->duplicate() ? "duplicate"
                                                         : "completed");
    }
    done(std::move(response));
  };
  absl::StatusOr<std::optional<VerifiedSubmission>> verified = CheckAndVerify(request);
  if (!verified.ok()) return answer(verified.status());
  if (!verified->has_value()) {
    star::v1::SubmitShardResultResponse duplicate;
    duplicate.set_duplicate(true);
    return answer(duplicate);
  }
  auto submission = std::make_shared<VerifiedSubmission>(**std::move(verified));
  submission->lease_next = request.lease_next();
  StateStore::ShardCompletion record = std::move(submission->record);
  {
    absl::MutexLock lock(&in_flight_mu_);
    ++in_flight_commits_;
  }
  // The store decides which of two racing submissions (a lease that expired while its worker
  // still finished) is the first; the worker hears once the commit is on disk.
  store_->CompleteShardAsync(
      std::move(record), [this, submission, shard_id = request.shard_id(),
                          worker_id = request.worker_id(),
                          answer = std::move(answer)](absl::StatusOr<bool> first) {
        if (first.ok()) {
          shards_.MarkDone(shard_id);
          if (*first) {
            generated_tokens_ += submission->generated_tokens;
            if (options_.metrics != nullptr) {
              options_.metrics->RecordQuestionsAttempted(submission->kind, submission->questions);
              for (const VerifiedSubmission::Verdict& v : submission->verdicts) {
                options_.metrics->RecordVerifiedSample(submission->kind, v.rationalized,
                                                       v.verified);
              }
            }
          }
        }
        if (!first.ok()) {
          answer(first.status());
        } else if (!*first) {
          star::v1::SubmitShardResultResponse duplicate;
          duplicate.set_duplicate(true);
          answer(duplicate);
        } else if (!submission->lease_next) {
          answer(std::move(submission->response));
        } else {
          // Without waiting, the queue answers on this thread. Not a LeaseShard call: not
          // counted as one.
          star::v1::LeaseShardRequest next;
          next.set_worker_id(worker_id);
          LeaseUncounted(next, [&](absl::StatusOr<star::v1::LeaseShardResponse> lease) {
            if (lease.ok()) *submission->response.mutable_next() = *std::move(lease);
            answer(std::move(submission->response));
          });
        }
        absl::MutexLock lock(&in_flight_mu_);
        --in_flight_commits_;
      });
}

absl::StatusOr<std::optional<Coordinator::VerifiedSubmission>> Coordinator::CheckAndVerify(
    const star::v1::SubmitShardResultRequest& request) {
  for (auto [field, value] : {std::pair{"worker_id", &request.worker_id()},
                              std::pair{"lease_id", &request.lease_id()},
                              std::pair{"shard_id", &request.shard_id()}}) {
    if (absl::Status s = CheckText(field, *value, kMaxIdLength, true); !s.ok()) return s;
  }
  if (absl::Status s = registry_.TouchWorker(request.worker_id()); !s.ok()) return s;
  std::shared_ptr<const star::v1::Shard> shard = shards_.Find(request.shard_id());
  if (shard == nullptr) {
    return absl::NotFoundError(absl::StrFormat("shard_id '%s' is unknown", request.shard_id()));
  }
  // Validate everything before anything changes.
  absl::flat_hash_map<uint64_t, const star::v1::ShardQuestion*> questions;
  for (const star::v1::ShardQuestion& q : shard->questions()) questions[q.question_id()] = &q;
  const bool evaluate = shard->kind() == star::v1::SHARD_KIND_EVALUATE;
  // Direct and hinted samples, each with the greedy one when the shard asks for it.
  const int per_pass = std::max<int>(1, shard->generation().samples_per_question()) +
                       (shard->generation().add_greedy_sample() ? 1 : 0);
  const int max_samples = evaluate ? 1 : 2 * per_pass;
  absl::flat_hash_set<uint64_t> seen;
  for (int i = 0; i < request.results_size(); ++i) {
    const star::v1::QuestionResult& r = request.results(i);
    if (!questions.contains(r.question_id())) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "results[%d].question_id %d is not in shard '%s'", i, r.question_id(), shard->shard_id()));
    }
    if (!seen.insert(r.question_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("results[%d].question_id %d appears twice", i, r.question_id()));
    }
    if (r.samples_size() == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "results[%d] (question_id %d) has no samples", i, r.question_id()));
    }
    if (r.samples_size() > max_samples) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "results[%d].samples has %d samples; this shard allows %d", i, r.samples_size(),
          max_samples));
    }
    for (int k = 0; k < r.samples_size(); ++k) {
      if (r.samples(k).completion().size() > kMaxCompletionBytes) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "results[%d].samples[%d].completion is %d bytes; at most %d", i, k,
            r.samples(k).completion().size(), kMaxCompletionBytes));
      }
      if (evaluate && r.samples(k).rationalized()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "results[%d].samples[%d].rationalized: evaluation shards are never hinted", i, k));
      }
    }
  }
  // An honest worker answers every question of its shard; one left out would silently count
  // as wrong (evaluation) or rejected (generation).
  for (const star::v1::ShardQuestion& q : shard->questions()) {
    if (!seen.contains(q.question_id())) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "results answer %d of the %d questions of shard '%s'; question_id %d is missing",
          seen.size(), shard->questions_size(), shard->shard_id(), q.question_id()));
    }
  }
  absl::StatusOr<std::unique_ptr<Task>> task = MakeTask(shard->task());
  if (!task.ok()) return task.status();

  absl::StatusOr<ShardQueue::Completion> completion =
      shards_.CheckCompletion(request.worker_id(), request.lease_id(), request.shard_id());
  if (!completion.ok()) return completion.status();
  if (completion->duplicate) return std::nullopt;
  VerifiedSubmission out{
      .record = {.shard_id = shard->shard_id(), .worker_id = request.worker_id()},
      .kind = shard->kind(),
      .questions = request.results_size(),
      .generated_tokens = std::min<uint64_t>(request.generated_tokens(), 1ULL << 32)};
  StateStore::ShardCompletion& record = out.record;
  star::v1::SubmitShardResultResponse& response = out.response;
  for (const star::v1::QuestionResult& r : request.results()) {
    const star::v1::ShardQuestion& q = *questions[r.question_id()];
    Question gold{.id = q.question_id(), .answer = q.gold_answer()};
    // An evaluation question counts as correct when its (only) sample verifies.
    bool first_verified = false;
    for (int k = 0; k < r.samples_size(); ++k) {
      const star::v1::Sample& sample = r.samples(k);
      const bool verified = (*task)->Verify(gold, sample.completion());
      if (k == 0) first_verified = verified;
      out.verdicts.push_back({sample.rationalized(), verified});
      if (!verified) {
        response.set_rejected(response.rejected() + 1);
        continue;
      }
      response.set_accepted(response.accepted() + 1);
      if (!evaluate) {
        record.accepted.push_back(AcceptedRationale{.job_id = shard->job_id(),
                                                    .iteration = shard->iteration(),
                                                    .question_id = q.question_id(),
                                                    .shard_id = shard->shard_id(),
                                                    .prompt = q.prompt(),
                                                    .completion = sample.completion(),
                                                    .rationalized = sample.rationalized()});
      }
    }
    if (evaluate) {
      record.evaluations.push_back(EvaluationOutcome{.job_id = shard->job_id(),
                                                     .iteration = shard->iteration(),
                                                     .question_id = q.question_id(),
                                                     .bucket = q.bucket(),
                                                     .correct = first_verified});
    }
  }
  return out;
}

absl::StatusOr<star::v1::JoinRoundResponse> Coordinator::JoinRound(
    const star::v1::JoinRoundRequest& request) {
  return AwaitAnswer<absl::StatusOr<star::v1::JoinRoundResponse>>(
      [&](auto done) { JoinRoundAsync(request, done); });
}

void Coordinator::JoinRoundAsync(
    const star::v1::JoinRoundRequest& request,
    std::function<void(absl::StatusOr<star::v1::JoinRoundResponse>)> done) {
  if (absl::Status s = CheckText("trainer_id", request.trainer_id(), kMaxIdLength, true);
      !s.ok()) {
    return done(s);
  }
  if (absl::Status s = CheckText("hostname", request.hostname(), kMaxHostnameLength, true);
      !s.ok()) {
    return done(s);
  }
  if (request.store_port() > 65535) {
    return done(absl::InvalidArgumentError(
        absl::StrFormat("store_port %d is not a port (0-65535)", request.store_port())));
  }
  registry_.TouchTrainer(request.trainer_id(), request.hostname(), request.has_cuda());
  // `done` is copied into the scheduler's callback; the scheduler calls it or refuses the wait.
  absl::Status queued = rounds_.JoinAsync(
      request, std::min(absl::Milliseconds(request.wait_ms()), options_.max_wait),
      [done](std::optional<star::v1::RoundAssignment> assignment) {
        star::v1::JoinRoundResponse response;
        if (assignment) *response.mutable_assignment() = std::move(*assignment);
        done(std::move(response));
      });
  if (!queued.ok()) done(queued);
}

absl::StatusOr<std::vector<star::v1::TrainingExample>> Coordinator::RoundExamples(
    const star::v1::StreamExamplesRequest& request) const {
  return rounds_.Examples(request.round_id(), request.rank());
}

absl::Status Coordinator::ReportRound(const star::v1::ReportRoundRequest& request) {
  if (request.error().size() > 4096) {
    return absl::InvalidArgumentError("error is longer than 4096 bytes");
  }
  return rounds_.Report(request);
}

absl::Status Coordinator::ReportStep(const star::v1::ReportStepRequest& request) {
  return rounds_.ReportStep(request);
}

star::v1::ClusterStatus Coordinator::GetCluster() const {
  return registry_.Snapshot(options_.member_timeout);
}

Coordinator::~Coordinator() {
  absl::MutexLock lock(&in_flight_mu_);
  in_flight_mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &in_flight_commits_));
}

void Coordinator::BeginShutdown() {
  shards_.Close();
  rounds_.Close();
}


}  // namespace star
