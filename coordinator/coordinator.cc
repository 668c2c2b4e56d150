#include "coordinator/coordinator.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace star {
namespace {

constexpr size_t kMaxHostnameLength = 253;
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

Coordinator::Coordinator(CoordinatorOptions options) : options_(options) {}

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
  if (absl::Status s = CheckText("worker_id", request.worker_id(), kMaxIdLength, true); !s.ok()) {
    return s;
  }
  if (absl::Status s = registry_.TouchWorker(request.worker_id()); !s.ok()) return s;
  absl::Duration wait = std::min(absl::Milliseconds(request.wait_ms()), options_.max_wait);
  star::v1::LeaseShardResponse response;
  std::optional<ShardLease> lease =
      shards_.Lease(request.worker_id(), options_.lease_timeout, wait);
  if (lease) {
    response.set_lease_id(lease->lease_id);
    *response.mutable_shard() = std::move(lease->shard);
    response.set_lease_expires_unix_ms(absl::ToUnixMillis(lease->expires));
  }
  return response;
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
  registry_.TouchTrainer(request.trainer_id(), request.hostname(), request.has_cuda());
  WaitForShutdown(std::min(absl::Milliseconds(request.wait_ms()), options_.max_wait));
  return star::v1::JoinRoundResponse();
}

star::v1::ClusterStatus Coordinator::GetCluster() const {
  return registry_.Snapshot(options_.member_timeout);
}

void Coordinator::BeginShutdown() {
  shards_.Close();
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
  shutdown_cv_.SignalAll();
}

void Coordinator::WaitForShutdown(absl::Duration wait) {
  absl::Time deadline = absl::Now() + wait;
  absl::MutexLock lock(&mu_);
  while (!shutting_down_ && !shutdown_cv_.WaitWithDeadline(&mu_, deadline)) {
  }
}

}  // namespace star
