#ifndef STAR_COORDINATOR_JOB_MANAGER_H_
#define STAR_COORDINATOR_JOB_MANAGER_H_

// The operator API's jobs: submission (validated), lookup, cancellation. One job runs at a time
// (they share the coordinator's shard queue); a submission while one runs is refused with
// kFailedPrecondition. Jobs live in the coordinator's state store: Resume() brings back every
// job a previous coordinator process knew and restarts the one that had not ended.
// Thread-safe.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/coordinator.h"
#include "coordinator/job_runner.h"
#include "files/path_policy.h"

namespace star {

// Every file a job spec names (model.base_checkpoint, a folder read whole; model.init_config,
// model.init_tokenizer, and the files the task names: TaskFiles) resolved through
// `roots` and replaced by its resolved path. Errors name the field ("model.init_config: ...").
absl::Status ConfineJobPaths(const PathPolicy& roots, star::v1::JobSpec* spec);

class JobManager {
 public:
  // Jobs keep their models under `state_dir`/jobs/ID and run with `runner_options` (job_dir is
  // set per job); the files a job names must lie under `data_roots`. `coordinator` must
  // outlive the manager.
  JobManager(Coordinator* coordinator, std::string state_dir, PathPolicy data_roots,
             JobRunnerOptions runner_options = JobRunnerOptions());
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Loads the jobs of the state store; a job that was running goes on from where it was.
  // Call once, before serving. Errors come from the store.
  absl::Status Resume();

  // kInvalidArgument naming the field for an invalid spec; kPermissionDenied (kNotFound) naming
  // the field for a file outside the data roots (missing); kFailedPrecondition while another
  // job runs. Returns the new job's id. The job keeps the resolved paths (ConfineJobPaths).
  absl::StatusOr<std::string> Submit(const star::v1::JobSpec& spec);
  absl::StatusOr<star::v1::JobStatus> Get(const std::string& job_id) const;
  std::vector<star::v1::JobStatus> List() const;
  absl::StatusOr<star::v1::JobStatus> Cancel(const std::string& job_id);
  // nullptr for an unknown id. The runner lives as long as the manager.
  JobRunner* Find(const std::string& job_id) const;

  // Stops every job without ending it (it resumes when a coordinator restarts on the same
  // state) and waits for them (coordinator shutdown).
  void Shutdown();

 private:
  // The job's folder, `state_dir`/jobs/ID; kInternal if it would not lie there.
  absl::StatusOr<std::string> JobDir(const std::string& id) const;

  Coordinator* coordinator_;
  const std::string state_dir_;
  const PathPolicy data_roots_;
  const JobRunnerOptions runner_options_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<JobRunner>> jobs_ ABSL_GUARDED_BY(mu_);
  int next_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace star

#endif  // STAR_COORDINATOR_JOB_MANAGER_H_
