#ifndef STAR_COORDINATOR_JOB_RUNNER_H_
#define STAR_COORDINATOR_JOB_RUNNER_H_

// Runs one STaR job (Zelikman et al. 2022, Algorithm 1) on its own thread, through the
// coordinator's shard queue (workers generate) and round scheduler (trainer ranks train):
//
//   seed:      when the job starts from a random initialisation, M0 is trained on the task's
//              seed examples (tasks/task_suite.h; some with the hint in the prompt, so that
//              rationalization has something to start from); M0 is then evaluated
//              (iteration 0).
//   iteration n = 1..N (coordinator/shard_pass.h, kept_set.h, training_round.h):
//     generate: every training question with M(n-1), few-shot exemplars first; wrong answers
//               asked again with the hint when rationalization is on; the coordinator keeps
//               what it verifies;
//     train:    the BASE model M0 on the kept rationales (deduplicated, capped per question),
//               each after its question's own prompt (no exemplar, no hint), for
//               steps(n) = initial * (1 + growth%)^(n-1) + increment * (n-1);
//     evaluate: M(n) on the held-out split, greedy, no hints; accuracy per bucket.
//   Stops after N iterations or when accuracy gained less than plateau_min_gain for
//   plateau_patience iterations (coordinator/iteration_schedule.h).
//
// The runner knows no task by name: the job's task suite gives the questions and prompts.
//
// Durable: the job's status is written to the coordinator's state store on every phase change,
// each pass's shards are recorded before they are leased, and each stage of an iteration that
// is behind the job leaves a mark (seed trained, iteration n generated, iteration n trained).
// A runner resumed from a stored status after a coordinator restart skips what is marked, goes
// on with the shards of a pass that were not completed, and re-runs a training round that was
// cut off.
//
// Thread-safe. Only one job may use a coordinator's queue at a time (JobManager enforces it).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/coordinator.h"
#include "nlohmann/json.hpp"
#include "star/v1/job.pb.h"
#include "star/v1/training.pb.h"
#include "tasks/task.h"

namespace star {

struct JobRunnerOptions {
  // Where the job's models live (job_dir/models/m0, m1, ...); must be visible to workers and
  // trainers under the same path.
  std::string job_dir;
  // A round that has not ended after this long is given up (and retried).
  absl::Duration round_timeout = absl::Hours(4);
  int round_attempts = 3;
  uint32_t collective_timeout_ms = 120000;
  // A round re-run after a failure waits this long for the full world, then forms with the
  // ranks that wait (the global batch is kept: each rank takes a larger share).
  absl::Duration round_settle = absl::Seconds(10);
};

class JobRunner {
 public:
  // `coordinator` must outlive the runner. The spec must be valid (ValidateJobSpec).
  JobRunner(Coordinator* coordinator, std::string job_id, star::v1::JobSpec spec,
            JobRunnerOptions options);
  // A job read back from the state store: Start() resumes it where the marks say it was; a
  // finished job is only shown.
  JobRunner(Coordinator* coordinator, star::v1::JobStatus stored, JobRunnerOptions options);
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;
  // Interrupts a running job (see Interrupt) and waits for its thread.
  ~JobRunner();

  // Runs (or resumes) the job on its own thread.
  void Start();
  // Operator cancellation: the job ends CANCELLED.
  void Cancel();
  // Coordinator shutdown: the job stops but stays RUNNING in the store, to be resumed.
  void Interrupt();

  star::v1::JobStatus Status() const;
  // Blocks until the status version exceeds `seen_version` or `wait` passes; returns the status
  // and its version. The version grows on every change.
  std::pair<star::v1::JobStatus, uint64_t> WaitForChange(uint64_t seen_version,
                                                         absl::Duration wait) const;
  bool Finished() const;

 private:
  absl::Status RunJob();
  // One pass of shards of `kind` over `questions` with `checkpoint`; returns when all are done.
  absl::Status RunPass(star::v1::ShardKind kind, uint32_t iteration,
                       const std::vector<star::v1::ShardQuestion>& questions,
                       const std::string& checkpoint_id, const std::string& checkpoint);
  // A training round (retried with fresh rounds on failure); returns the successful progress.
  absl::StatusOr<RoundProgress> RunRound(uint32_t iteration, const std::string& base,
                                         const std::string& output, uint32_t steps,
                                         std::vector<star::v1::TrainingExample> examples);
  // FailedPrecondition when the longest prompt plus max_new_tokens does not fit the model.
  absl::Status CheckContextLength(const std::string& model_dir,
                                  const std::vector<star::v1::ShardQuestion>& pool) const;
  // Writes iteration's kept set (what the round trains on, with each line's question and origin)
  // to job_dir/iterations/N/train.jsonl, atomically.
  absl::Status WriteKeptSet(uint32_t iteration, const std::vector<nlohmann::json>& kept);
  absl::Status Evaluate(uint32_t iteration, const std::string& checkpoint_id,
                        const std::string& checkpoint, star::v1::IterationResult& result);
  bool cancelled() const;
  bool interrupted() const;
  // Applies `update` to the status under the lock and wakes watchers.
  template <typename Update>
  void Mutate(Update&& update);
  // Mutate, then writes the status to the state store (phase and state changes, results).
  template <typename Update>
  void MutateDurable(Update&& update);
  // Marks of the job's progress in the state store (see StateStore::PutMark).
  absl::Status PutMark(const std::string& key, const std::string& value);
  absl::StatusOr<std::optional<std::string>> GetMark(const std::string& key) const;

  Coordinator* coordinator_;
  const std::string job_id_;
  const star::v1::JobSpec spec_;
  const JobRunnerOptions options_;
  std::vector<star::v1::ShardQuestion> eval_questions_;

  mutable absl::Mutex mu_;
  mutable absl::CondVar changed_;
  star::v1::JobStatus status_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancel_ ABSL_GUARDED_BY(mu_) = false;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// kFailedPrecondition naming generation.max_new_tokens when the longest of `prompts` (what
// workers are asked, tokenized with `tokenizer_path`) plus `max_new_tokens` exceeds the
// max_position_embeddings of `config_path`; the error of a config or tokenizer that cannot be
// read.
absl::Status CheckPromptsFit(const std::string& config_path, const std::string& tokenizer_path,
                             const std::vector<const std::string*>& prompts, uint32_t max_new_tokens);

}  // namespace star

#endif  // STAR_COORDINATOR_JOB_RUNNER_H_
