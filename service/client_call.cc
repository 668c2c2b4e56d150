#include "service/client_call.h"

#include "service/backoff.h"

namespace star {

std::chrono::system_clock::time_point DeadlineIn(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}

bool IsRetryable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

grpc::Status CallWithRetry(const std::function<grpc::Status(grpc::ClientContext&)>& call,
                           const RetryPolicy& policy,
                           const std::function<void(const grpc::Status&)>& on_retryable_failure) {
  Backoff backoff(policy.initial_backoff, policy.max_backoff);
  grpc::Status status;
  for (int attempt = 1; attempt <= policy.attempts; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(policy.deadline));
    status = call(context);
    if (status.ok() || !IsRetryable(status)) return status;
    if (on_retryable_failure) on_retryable_failure(status);
    if (attempt < policy.attempts) absl::SleepFor(backoff.Next());
  }
  return status;
}

}  // namespace star
