#include "coordinator/round_scheduler.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "absl/strings/str_format.h"
#include "coordinator/await_answer.h"
#include "coordinator/round_backend.h"

namespace star {

RoundScheduler::~RoundScheduler() {
  std::vector<Answer> answers;
  std::thread ticker;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    closed_ = true;
    answers = TakeAnsweredLocked(absl::Now());
    ticker = std::move(ticker_);
    tick_.Signal();
  }
  if (ticker.joinable()) ticker.join();
  for (Answer& a : answers) a.done(std::move(a.assignment));
}

absl::Status RoundScheduler::Submit(RoundPlan plan) {
  const star::v1::RoundAssignment& a = plan.assignment;
  if (a.round_id().empty()) return absl::InvalidArgumentError("round_id is required");
  if (a.world_size() == 0) return absl::InvalidArgumentError("world_size must be at least 1");
  if (plan.examples.size() < a.world_size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "round '%s' has %d examples for %d ranks", a.round_id(), plan.examples.size(), a.world_size()));
  }
  std::vector<Answer> answers;
  {
    absl::MutexLock lock(&mu_);
    if (rounds_.contains(a.round_id())) {
      return absl::AlreadyExistsError(absl::StrFormat("round '%s' exists", a.round_id()));
    }
    plan.assignment.set_total_examples(plan.examples.size());
    std::string id = a.round_id();
    rounds_[id].plan = std::move(plan);
    rounds_[id].submitted = absl::Now();
    forming_.push_back(id);
    FormRoundsLocked();
    answers = TakeAnsweredLocked(absl::Now());
  }
  for (Answer& answer : answers) answer.done(std::move(answer.assignment));
  return absl::OkStatus();
}

void RoundScheduler::FormRoundsLocked() {
  while (!forming_.empty()) {
    Round& round = rounds_[forming_.front()];
    uint32_t world = round.plan.assignment.world_size();
    // Only waiters without an assignment count.
    std::vector<Waiter*> free;
    for (const std::unique_ptr<Waiter>& w : waiting_) {
      if (!w->assignment) free.push_back(w.get());
    }
    if (free.size() < world) {
      const bool settled = round.plan.min_world_size > 0 && !free.empty() &&
                           free.size() >= round.plan.min_world_size &&
                           absl::Now() - round.submitted >= round.plan.settle;
      if (!settled) return;
      world = static_cast<uint32_t>(free.size());
      round.plan.assignment.set_world_size(world);
    }
    free.resize(world);
    std::sort(free.begin(), free.end(), [](const Waiter* a, const Waiter* b) {
      return a->request.trainer_id() < b->request.trainer_id();
    });
    std::vector<RankDevice> devices;
    for (const Waiter* w : free) devices.push_back({w->request.trainer_id(), w->request.has_cuda()});
    absl::StatusOr<std::string> backend =
        ChooseRoundBackend(round.plan.assignment.compute().device(), devices);
    if (!backend.ok()) {
      // The waiting ranks stay free for a round they can run.
      round.progress.state = RoundState::kFailed;
      round.progress.error = std::string(backend.status().message());
      forming_.pop_front();
      continue;
    }
    round.plan.assignment.set_backend(*backend);
    const Waiter* master = free[0];
    for (uint32_t rank = 0; rank < world; ++rank) {
      star::v1::RoundAssignment a = round.plan.assignment;
      a.set_rank(rank);
      a.set_master_addr(master->request.hostname());
      a.set_master_port(master->request.store_port());
      free[rank]->assignment = a;
      round.trainers.push_back(free[rank]->request.trainer_id());
    }
    round.progress.state = RoundState::kRunning;
    forming_.pop_front();
  }
}

std::optional<star::v1::RoundAssignment> RoundScheduler::Join(
    const star::v1::JoinRoundRequest& request, absl::Duration wait) {
  return AwaitAnswer<std::optional<star::v1::RoundAssignment>>(
      [&](auto done) { return JoinAsync(request, wait, done); });
}

absl::Status RoundScheduler::JoinAsync(const star::v1::JoinRoundRequest& request,
                                       absl::Duration wait, JoinCallback done) {
  std::vector<Answer> answers;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if ((*it)->request.trainer_id() == request.trainer_id() && !(*it)->assignment) {
        answers.push_back({std::move((*it)->done), std::nullopt});
        waiting_.erase(it);
        break;
      }
    }
    if (waiting_.size() >= kMaxJoinWaiters) {
      status = absl::ResourceExhaustedError(absl::StrFormat(
          "%d trainers are already waiting for a round; ask again later", waiting_.size()));
    } else {
      waiting_.push_back(std::make_unique<Waiter>(
          Waiter{.request = request, .deadline = now + wait, .done = std::move(done)}));
      if (!closed_) FormRoundsLocked();
      std::vector<Answer> formed = TakeAnsweredLocked(now);
      std::move(formed.begin(), formed.end(), std::back_inserter(answers));
      if (!waiting_.empty()) {
        if (!ticker_.joinable()) ticker_ = std::thread([this] { Tick(); });
        tick_.Signal();
      }
    }
  }
  for (Answer& answer : answers) answer.done(std::move(answer.assignment));
  return status;
}

std::vector<RoundScheduler::Answer> RoundScheduler::TakeAnsweredLocked(absl::Time now) {
  std::vector<Answer> answers;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    Waiter& w = **it;
    if (w.assignment || closed_ || w.deadline <= now) {
      answers.push_back({std::move(w.done), std::move(w.assignment)});
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return answers;
}

void RoundScheduler::Tick() {
  while (true) {
    std::vector<Answer> answers;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      // Idle while nobody waits; otherwise wake at the first deadline and at least once a
      // second (a round waiting for fewer ranks forms once its settle time passed).
      if (waiting_.empty()) {
        tick_.Wait(&mu_);
      } else {
        absl::Time wake = absl::Now() + absl::Seconds(1);
        for (const std::unique_ptr<Waiter>& w : waiting_) wake = std::min(wake, w->deadline);
        tick_.WaitWithDeadline(&mu_, wake);
      }
      if (stopping_) return;
      if (!closed_) FormRoundsLocked();
      answers = TakeAnsweredLocked(absl::Now());
    }
    for (Answer& answer : answers) answer.done(std::move(answer.assignment));
  }
}

absl::StatusOr<const RoundScheduler::Round*> RoundScheduler::FindLocked(
    const std::string& round_id, uint32_t rank) const {
  auto it = rounds_.find(round_id);
  if (it == rounds_.end()) {
    return absl::NotFoundError(absl::StrFormat("round_id '%s' is unknown", round_id));
  }
  const uint32_t world = it->second.plan.assignment.world_size();
  if (rank >= world) {
    return absl::InvalidArgumentError(absl::StrFormat("rank %d is not in a world of %d", rank, world));
  }
  return &it->second;
}

absl::StatusOr<std::vector<star::v1::TrainingExample>> RoundScheduler::Examples(
    const std::string& round_id, uint32_t rank) const {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<const Round*> round = FindLocked(round_id, rank);
  if (!round.ok()) return round.status();
  return (*round)->plan.examples;
}

absl::Status RoundScheduler::ReportStep(const star::v1::ReportStepRequest& report) {
  absl::MutexLock lock(&mu_);
  if (absl::StatusOr<const Round*> found = FindLocked(report.round_id(), report.rank()); !found.ok()) {
    return found.status();
  }
  Round& round = rounds_.at(report.round_id());
  if (report.step() > round.plan.assignment.steps() || !std::isfinite(report.loss()) ||
      !std::isfinite(report.tokens_per_second()) || report.tokens_per_second() < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("step %d, loss %g, tokens_per_second %g out of range", report.step(),
                        report.loss(), report.tokens_per_second()));
  }
  round.progress.steps[report.rank()] = report;
  return absl::OkStatus();
}

absl::Status RoundScheduler::Report(const star::v1::ReportRoundRequest& report) {
  absl::MutexLock lock(&mu_);
  if (absl::StatusOr<const Round*> found = FindLocked(report.round_id(), report.rank()); !found.ok()) {
    return found.status();
  }
  Round& round = rounds_.at(report.round_id());
  const uint32_t world = round.plan.assignment.world_size();
  for (const auto& r : round.progress.reports) {
    if (r.rank() == report.rank()) return absl::OkStatus();
  }
  round.progress.reports.push_back(report);
  if (!report.ok() && round.progress.state != RoundState::kFailed) {
    round.progress.state = RoundState::kFailed;
    round.progress.error = absl::StrFormat("rank %d: %s", report.rank(), report.error());
  } else if (round.progress.state == RoundState::kRunning &&
             round.progress.reports.size() == world) {
    round.progress.state = RoundState::kSucceeded;
  }
  return absl::OkStatus();
}

std::optional<RoundProgress> RoundScheduler::Progress(const std::string& round_id) const {
  absl::MutexLock lock(&mu_);
  auto it = rounds_.find(round_id);
  if (it == rounds_.end()) return std::nullopt;
  return it->second.progress;
}

RoundCounts RoundScheduler::Counts() const {
  absl::MutexLock lock(&mu_);
  RoundCounts counts;
  for (const auto& [id, round] : rounds_) {
    switch (round.progress.state) {
      case RoundState::kForming:
        ++counts.forming;
        break;
      case RoundState::kRunning:
        ++counts.running;
        break;
      case RoundState::kSucceeded:
        ++counts.succeeded;
        break;
      case RoundState::kFailed:
        ++counts.failed;
        break;
    }
  }
  return counts;
}

std::optional<RoundProgress> RoundScheduler::WaitForEnd(const std::string& round_id,
                                                        absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  auto it = rounds_.find(round_id);
  if (it == rounds_.end()) return std::nullopt;
  const RoundProgress& p = it->second.progress;
  auto ended = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return p.state == RoundState::kSucceeded || p.state == RoundState::kFailed || closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ended), wait);
  return p;
}

size_t RoundScheduler::Waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_.size();
}

void RoundScheduler::Close() {
  std::vector<Answer> answers;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    answers = TakeAnsweredLocked(absl::Now());
  }
  for (Answer& answer : answers) answer.done(std::move(answer.assignment));
}

}  // namespace star
