#ifndef STAR_COORDINATOR_STATE_STORE_H_
#define STAR_COORDINATOR_STATE_STORE_H_

// The coordinator's durable state: one SQLite database (WAL mode) under --state-dir holding
// the jobs (spec, state, phase, results), each pass's shards and which of them completed, every
// accepted rationale, every evaluation outcome, the training rounds, and the job runner's
// progress marks (which stages of an iteration are behind it).
//
// A shard completion (the shard marked done together with its accepted rationales and
// evaluation outcomes) is one transaction, and CompleteShard returns only once it is committed
// with synchronous=FULL, so a completion acknowledged to a worker survives kill -9 and power
// loss. Completions are committed by one thread of the store, all that wait together (group
// commit: one fsync for all of them); CompleteShardAsync hands one over without waiting.
//
// Thread-safe.

#include <cstdint>
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
#include "star/v1/coordinator.pb.h"
#include "star/v1/job.pb.h"

struct sqlite3;

namespace star {

struct AcceptedRationale {
  std::string job_id;
  uint32_t iteration = 0;
  uint64_t question_id = 0;
  std::string shard_id;
  // The un-hinted prompt: a rationalized sample is trained as if it had come without the hint.
  std::string prompt;
  std::string completion;
  bool rationalized = false;
};

struct EvaluationOutcome {
  std::string job_id;
  uint32_t iteration = 0;
  uint64_t question_id = 0;
  std::string bucket;
  bool correct = false;
};

struct BucketCount {
  uint32_t correct = 0;
  uint32_t total = 0;
};

// A shard of a pass as stored, and whether a worker completed it.
struct StoredShard {
  star::v1::Shard shard;
  bool done = false;
};

class StateStore {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" gives a private in-memory
  // store (for tests and tools that need no durability). Errors name the file: kInternal when
  // SQLite cannot open or set it up, kFailedPrecondition for a database written by a newer
  // version of this program.
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(const std::string& path);
  // Opens an existing database for reading only (star export); kNotFound when it does not exist.
  static absl::StatusOr<std::unique_ptr<StateStore>> OpenReadOnly(const std::string& path);
  // The database file under a coordinator's --state-dir.
  static std::string PathIn(const std::string& state_dir);

  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // How many times a coordinator opened this database read-write, this time included. Round ids
  // carry it, so that a round of a coordinator that died is never mistaken for a new one.
  int64_t epoch() const { return epoch_; }

  // Jobs: the whole status (spec included), replaced on every call.
  absl::Status PutJob(const star::v1::JobStatus& status);
  absl::StatusOr<std::vector<star::v1::JobStatus>> Jobs() const;

  // Records the shards of a pass; shards already recorded keep their stored content.
  absl::Status AddShards(const std::vector<star::v1::Shard>& shards);
  // The recorded shards of one pass of a job, in shard id order.
  absl::StatusOr<std::vector<StoredShard>> ShardsOfPass(const std::string& job_id,
                                                        uint32_t iteration,
                                                        star::v1::ShardKind kind) const;

  struct ShardCompletion {
    std::string shard_id;
    std::string worker_id;
    std::vector<AcceptedRationale> accepted;
    std::vector<EvaluationOutcome> evaluations;
  };
  // Commits the completion of a shard with what it produced, durably, before returning. Returns
  // true for the shard's first completion, false when it was already complete (nothing is
  // written). kUnavailable when the database cannot be written (nothing is written; the caller
  // may retry).
  absl::StatusOr<bool> CompleteShard(ShardCompletion completion);
  // CompleteShard without waiting: `done` is called exactly once with what CompleteShard would
  // return, from the store's commit thread once the completion's transaction is on disk (or
  // failed). `done` must not call back into CompleteShard or CompleteShardAsync.
  void CompleteShardAsync(ShardCompletion completion,
                          std::function<void(absl::StatusOr<bool>)> done);

  // Accepted rationales of one iteration of a job, by question id, each question's in the order
  // they were committed (so the same accepted set reads the same whatever order workers
  // finished their shards in).
  absl::StatusOr<std::vector<AcceptedRationale>> Accepted(const std::string& job_id,
                                                          uint32_t iteration) const;
  // Accepted rationales of every job.
  absl::StatusOr<int64_t> AcceptedCount() const;
  // Correct and total evaluation answers of an iteration, by bucket (ordered by bucket name).
  absl::StatusOr<std::map<std::string, BucketCount>> Accuracy(const std::string& job_id,
                                                              uint32_t iteration) const;

  // A training round's lifecycle, for the record: state is "submitted", "succeeded" or
  // "failed"; `error` says why a round failed.
  absl::Status PutRound(const std::string& round_id, const std::string& job_id,
                        uint32_t iteration, const std::string& state, const std::string& error);

  // Progress marks of a job runner: `key` names a stage that is behind it ("seed",
  // "iteration/3/trained"), `value` what it needs to go on from there.
  absl::Status PutMark(const std::string& job_id, const std::string& key, const std::string& value);
  absl::StatusOr<std::optional<std::string>> GetMark(const std::string& job_id,
                                                     const std::string& key) const;

 private:
  StateStore(sqlite3* db, std::string path);
  struct PendingCompletion;
  // Takes the waiting completions in batches and commits each batch; runs on `committer_`.
  void CommitLoop();
  // Runs every completion of `batch` in one transaction; sets each one's result.
  void CommitBatch(std::vector<PendingCompletion>& batch);
  absl::Status Exec(const std::string& sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);
  absl::Status Error(const std::string& what) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_mu_);

  const std::string path_;
  int64_t epoch_ = 0;
  mutable absl::Mutex db_mu_;
  sqlite3* db_ ABSL_GUARDED_BY(db_mu_);
  // The statements of a completion, prepared by the first commit and kept.
  struct CommitStatements;
  std::unique_ptr<CommitStatements> commit_statements_ ABSL_GUARDED_BY(db_mu_);

  // Group commit: completions wait in `queue_` until `committer_` (started by the first
  // completion) takes them all at once.
  absl::Mutex queue_mu_;
  std::vector<PendingCompletion> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread committer_ ABSL_GUARDED_BY(queue_mu_);
};

}  // namespace star

#endif  // STAR_COORDINATOR_STATE_STORE_H_
