#ifndef STAR_COORDINATOR_AWAIT_ANSWER_H_
#define STAR_COORDINATOR_AWAIT_ANSWER_H_

// The blocking form of a call that answers through a callback (ShardQueue::LeaseAsync,
// Coordinator::SubmitShardResultAsync, StateStore::CompleteShardAsync, ...): what tests and
// the synchronous forms of those calls use.

#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"

namespace star {

// Calls `start(callback)` and waits until the callback was called, at once on this thread or
// later on any other; returns the value it was called with. When `start` returns an
// absl::Status instead of void, a status that is not OK means the callback will never be
// called: `refused` is returned at once.
template <typename T, typename Start>
T AwaitAnswer(Start&& start, T refused = T()) {
  absl::Notification answered;
  std::optional<T> out;
  auto callback = [&](T value) {
    out.emplace(std::move(value));
    answered.Notify();
  };
  if constexpr (std::is_void_v<std::invoke_result_t<Start&, decltype(callback)>>) {
    start(callback);
  } else {
    if (!start(callback).ok()) return refused;
  }
  answered.WaitForNotification();
  return *std::move(out);
}

}  // namespace star

#endif  // STAR_COORDINATOR_AWAIT_ANSWER_H_
