#ifndef STAR_SERVICE_CLIENT_CALL_H_
#define STAR_SERVICE_CLIENT_CALL_H_

// Deadlines and retries of the calls workers, trainer ranks and tools make to the coordinator.

#include <chrono>
#include <functional>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace star {

// A gRPC deadline `d` from now.
std::chrono::system_clock::time_point DeadlineIn(absl::Duration d);

// Whether a call that failed this way may succeed if made again: the coordinator was
// unreachable (restarting) or did not answer in time. Anything else it would answer the same.
bool IsRetryable(const grpc::Status& status);

struct RetryPolicy {
  int attempts = 8;
  // Each attempt's deadline.
  absl::Duration deadline = absl::Seconds(30);
  // Pauses between attempts: exponential with full jitter (service/backoff.h).
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
};

// Makes `call` with a fresh context (deadline policy.deadline away), and again after a pause
// while it fails retryably, at most policy.attempts times; `on_retryable_failure` (may be empty)
// hears each retryable failure. Returns the last attempt's status. Only for calls the
// coordinator treats idempotently. Blocks the calling thread; thread-safe.
grpc::Status CallWithRetry(const std::function<grpc::Status(grpc::ClientContext&)>& call,
                           const RetryPolicy& policy = {},
                           const std::function<void(const grpc::Status&)>& on_retryable_failure = {});

}  // namespace star

#endif  // STAR_SERVICE_CLIENT_CALL_H_
