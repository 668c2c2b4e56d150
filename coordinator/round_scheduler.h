#ifndef STAR_COORDINATOR_ROUND_SCHEDULER_H_
#define STAR_COORDINATOR_ROUND_SCHEDULER_H_

// Training rounds: the coordinator is their rendezvous point. A round is submitted with its
// examples; trainer ranks waiting in JoinRound are formed into it once enough of them wait
// (the first to arrive, ranked by trainer id so that the same trainers always get the same
// ranks; rank 0's host and pre-bound port become the master address);
// each rank streams the round's examples and reports. The round succeeds when every rank reported success, and fails on the first failure
// (the caller may submit it again with the ranks still alive). A waiting rank holds no thread
// (JoinAsync); the scheduler's own thread forms rounds whose settle time passed and answers
// the waits that ran out. Thread-safe.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "star/v1/training.pb.h"

namespace star {

struct RoundPlan {
  // rank, master_* and total_examples are filled here; world_size is the most ranks the round
  // takes (and, when it forms smaller, set to the ranks it got).
  star::v1::RoundAssignment assignment;
  std::vector<star::v1::TrainingExample> examples;
  // A round that has waited `settle` for world_size ranks forms with the ranks that wait, if
  // there are at least min_world_size (the re-run of a round that lost a rank). 0: always
  // wait for world_size.
  uint32_t min_world_size = 0;
  absl::Duration settle = absl::Seconds(10);
};

enum class RoundState { kForming, kRunning, kSucceeded, kFailed };

struct RoundProgress {
  RoundState state = RoundState::kForming;
  std::vector<star::v1::ReportRoundRequest> reports;  // one per rank that reported
  std::string error;                                  // first failure
  // The latest step report of each rank that sent one (by rank).
  std::map<uint32_t, star::v1::ReportStepRequest> steps;
};

// How many rounds are in each state, over every round submitted so far.
struct RoundCounts {
  int64_t forming = 0;
  int64_t running = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
};

class RoundScheduler {
 public:
  RoundScheduler() = default;
  // Answers every waiting JoinAsync() with nullopt and stops the scheduler's thread.
  ~RoundScheduler();
  RoundScheduler(const RoundScheduler&) = delete;
  RoundScheduler& operator=(const RoundScheduler&) = delete;

  // Queues a round. kInvalidArgument for a missing round id, world size 0, fewer examples than
  // ranks; kAlreadyExists for a known round id.
  absl::Status Submit(RoundPlan plan);

  // A trainer waits up to `wait` to be placed into a forming round. Returns its assignment, or
  // nullopt when none was formed in time (or on Close(), or too many wait).
  std::optional<star::v1::RoundAssignment> Join(const star::v1::JoinRoundRequest& request,
                                                absl::Duration wait);
  // Join() without holding a thread while it waits: `done` is called exactly once, with the
  // assignment or with nullopt (the wait ran out, or Close()), never under the scheduler's lock:
  // at once when the answer is known, otherwise from whichever call formed the round (Submit,
  // another rank's JoinAsync) or from the scheduler's thread (a settled round, a wait that ran
  // out). A trainer waits once: a new wait answers its earlier one (nullopt) and takes its
  // place. kResourceExhausted (and `done` is not called) when kMaxJoinWaiters already wait.
  using JoinCallback = std::function<void(std::optional<star::v1::RoundAssignment>)>;
  static constexpr size_t kMaxJoinWaiters = 10'000;
  absl::Status JoinAsync(const star::v1::JoinRoundRequest& request, absl::Duration wait,
                         JoinCallback done);

  // The examples `rank` of round `round_id` trains from: all of the round's, in order (every
  // rank draws the same global batches and takes its slice; see trainer/round_trainer.h).
  // kNotFound for an unknown round, kInvalidArgument for a rank outside it.
  absl::StatusOr<std::vector<star::v1::TrainingExample>> Examples(const std::string& round_id,
                                                                  uint32_t rank) const;

  // Records a rank's report. kNotFound for an unknown round; kInvalidArgument for a rank outside
  // it. A second report of a rank is ignored.
  absl::Status Report(const star::v1::ReportRoundRequest& report);

  // Records a rank's progress during the round. kNotFound for an unknown round;
  // kInvalidArgument for a rank outside it.
  absl::Status ReportStep(const star::v1::ReportStepRequest& report);

  std::optional<RoundProgress> Progress(const std::string& round_id) const;

  RoundCounts Counts() const;
  // Ranks waiting now to be placed into a round.
  size_t Waiting() const;

  // Waits up to `wait` for the round to succeed or fail; returns its progress then.
  std::optional<RoundProgress> WaitForEnd(const std::string& round_id, absl::Duration wait);

  void Close();

 private:
  struct Round {
    RoundPlan plan;
    absl::Time submitted;
    RoundProgress progress;
    std::vector<std::string> trainers;  // by rank
  };
  struct Waiter {
    star::v1::JoinRoundRequest request;
    std::optional<star::v1::RoundAssignment> assignment;
    absl::Time deadline;
    JoinCallback done;
  };
  // A waiter's callback and its answer, called outside the lock.
  struct Answer {
    JoinCallback done;
    std::optional<star::v1::RoundAssignment> assignment;
  };

  // The round `round_id` if it exists and has a rank `rank`: kNotFound / kInvalidArgument
  // naming the value otherwise.
  absl::StatusOr<const Round*> FindLocked(const std::string& round_id, uint32_t rank) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forms the oldest forming round if enough trainers wait.
  void FormRoundsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes out of waiting_ every waiter that has its answer: an assignment, a wait that ran out
  // by `now`, or (closed) nullopt.
  std::vector<Answer> TakeAnsweredLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The scheduler's thread: forms settled rounds and answers waits that ran out.
  void Tick();

  mutable absl::Mutex mu_;
  std::map<std::string, Round> rounds_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> forming_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<Waiter>> waiting_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar tick_;
  // Started by the first wait.
  std::thread ticker_ ABSL_GUARDED_BY(mu_);
};

}  // namespace star

#endif  // STAR_COORDINATOR_ROUND_SCHEDULER_H_
