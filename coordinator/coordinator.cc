#include "coordinator/coordinator.h"

#include <algorithm>
#include <cstdlib>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
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
  absl::Notification answered;
  absl::StatusOr<star::v1::LeaseShardResponse> out;
  LeaseShardAsync(request, [&](absl::StatusOr<star::v1::LeaseShardResponse> response) {
    out = std::move(response);
    answered.Notify();
  });
  answered.WaitForNotification();
  return out;
}

void Coordinator::LeaseShardAsync(
    const star::v1::LeaseShardRequest& request,
    std::function<void(absl::StatusOr<star::v1::LeaseShardResponse>)> done) {
  const absl::Time start = absl::Now();
  HandlerEvents* metrics = options_.metrics;
  auto answer = [metrics, start, done = std::move(done)](
                    absl::StatusOr<star::v1::LeaseShardResponse> response) {
    if (metrics != nullptr) {
      metrics->RecordLeaseShard(
          absl::Now() - start,
          !response.ok() ? "error" : response->lease_id().empty() ? "empty" : "leased");
    }
    done(std::move(response));
  };
  if (absl::Status s = CheckText("worker_id", request.worker_id(), kMaxIdLength, true); !s.ok()) {
    return answer(s);
  }
  if (absl::Status s = registry_.TouchWorker(request.worker_id()); !s.ok()) return answer(s);
  const absl::Duration wait = std::min(absl::Milliseconds(request.wait_ms()), options_.max_wait);
  // `answer` is copied into the queue's callback; the queue calls exactly one copy.
  absl::Status queued = shards_.LeaseAsync(
      request.worker_id(), options_.lease_timeout, wait,
      [answer](std::optional<ShardLease> lease) {
        star::v1::LeaseShardResponse response;
        if (lease) {
          response.set_lease_id(lease->lease_id);
          *response.mutable_shard() = std::move(lease->shard);
          response.set_lease_expires_unix_ms(absl::ToUnixMillis(lease->expires));
        }
        answer(std::move(response));
      });
  if (!queued.ok()) answer(queued);
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
  absl::StatusOr<star::v1::SubmitShardResultResponse> response =
      SubmitShardResultUncounted(request);
  if (options_.metrics != nullptr) {
    options_.metrics->RecordShardResult(!response.ok()          ? "refused"
                                        : response->duplicate() ? "duplicate"
                                                                : "completed");
  }
  return response;
}

absl::StatusOr<star::v1::SubmitShardResultResponse> Coordinator::SubmitShardResultUncounted(
    const star::v1::SubmitShardResultRequest& request) {
  for (auto [field, value] : {std::pair{"worker_id", &request.worker_id()},
                              std::pair{"lease_id", &request.lease_id()},
                              std::pair{"shard_id", &request.shard_id()}}) {
    if (absl::Status s = CheckText(field, *value, kMaxIdLength, true); !s.ok()) return s;
  }
  if (absl::Status s = registry_.TouchWorker(request.worker_id()); !s.ok()) return s;
  std::optional<star::v1::Shard> shard = shards_.Find(request.shard_id());
  if (!shard) {
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
  star::v1::SubmitShardResultResponse response;
  if (completion->duplicate) {
    response.set_duplicate(true);
    return response;
  }
  StateStore::ShardCompletion record{.shard_id = shard->shard_id(),
                                     .worker_id = request.worker_id()};
  struct Verdict {
    bool rationalized;
    bool verified;
  };
  std::vector<Verdict> verdicts;
  for (const star::v1::QuestionResult& r : request.results()) {
    const star::v1::ShardQuestion& q = *questions[r.question_id()];
    Question gold{.id = q.question_id(), .answer = q.gold_answer()};
    // An evaluation question counts as correct when its (only) sample verifies.
    bool first_verified = false;
    for (int k = 0; k < r.samples_size(); ++k) {
      const star::v1::Sample& sample = r.samples(k);
      const bool verified = (*task)->Verify(gold, sample.completion());
      if (k == 0) first_verified = verified;
      verdicts.push_back({sample.rationalized(), verified});
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
  // The store decides which of two racing submissions (a lease that expired while its worker
  // still finished) is the first.
  absl::StatusOr<bool> first = store_->CompleteShard(std::move(record));
  if (!first.ok()) return first.status();
  shards_.MarkDone(shard->shard_id());
  if (!*first) {
    star::v1::SubmitShardResultResponse duplicate;
    duplicate.set_duplicate(true);
    return duplicate;
  }
  generated_tokens_ += std::min<uint64_t>(request.generated_tokens(), 1ULL << 32);
  if (options_.metrics != nullptr) {
    options_.metrics->RecordQuestionsAttempted(shard->kind(), request.results_size());
    for (const Verdict& v : verdicts) {
      options_.metrics->RecordVerifiedSample(shard->kind(), v.rationalized, v.verified);
    }
  }
  return response;
}

absl::StatusOr<star::v1::JoinRoundResponse> Coordinator::JoinRound(
    const star::v1::JoinRoundRequest& request) {
  if (absl::Status s = CheckText("trainer_id", request.trainer_id(), kMaxIdLength, true);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckText("hostname", request.hostname(), kMaxHostnameLength, true);
      !s.ok()) {
    return s;
  }
  if (request.store_port() > 65535) {
    return absl::InvalidArgumentError(
        absl::StrFormat("store_port %d is not a port (0-65535)", request.store_port()));
  }
  registry_.TouchTrainer(request.trainer_id(), request.hostname(), request.has_cuda());
  star::v1::JoinRoundResponse response;
  std::optional<star::v1::RoundAssignment> assignment = rounds_.Join(
      request, std::min(absl::Milliseconds(request.wait_ms()), options_.max_wait));
  if (assignment) *response.mutable_assignment() = std::move(*assignment);
  return response;
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

void Coordinator::BeginShutdown() {
  shards_.Close();
  rounds_.Close();
}


}  // namespace star
