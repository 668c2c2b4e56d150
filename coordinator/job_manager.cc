#include "coordinator/job_manager.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/job_config.h"
#include "files/excerpt.h"
#include "log/log.h"
#include "tasks/task_suite.h"

namespace star {

absl::Status ConfineJobPaths(const PathPolicy& roots, star::v1::JobSpec* spec) {
  struct NamedFile {
    const char* field;
    std::string* path;
    bool folder;
  };
  std::vector<NamedFile> files;
  if (spec->has_model()) {
    star::v1::ModelSpec& model = *spec->mutable_model();
    files.push_back({"model.base_checkpoint", model.mutable_base_checkpoint(), true});
    files.push_back({"model.init_config", model.mutable_init_config(), false});
    files.push_back({"model.init_tokenizer", model.mutable_init_tokenizer(), false});
  }
  std::vector<TaskFile> task_files = TaskFiles(*spec->mutable_task());
  for (const TaskFile& f : task_files) files.push_back({f.field.c_str(), f.path, false});
  for (const NamedFile& f : files) {
    if (f.path->empty()) continue;
    absl::StatusOr<std::string> resolved =
        f.folder ? roots.ConfineFolder(f.field, *f.path) : roots.ConfineExisting(f.field, *f.path);
    if (!resolved.ok()) return resolved.status();
    *f.path = *std::move(resolved);
  }
  return absl::OkStatus();
}

JobManager::JobManager(Coordinator* coordinator, std::string state_dir, PathPolicy data_roots,
                       JobRunnerOptions runner_options)
    : coordinator_(coordinator),
      state_dir_(std::move(state_dir)),
      data_roots_(std::move(data_roots)),
      runner_options_(std::move(runner_options)) {}

absl::StatusOr<std::string> JobManager::JobDir(const std::string& id) const {
  // Ids are safe folder names by construction (ValidateJobSpec); a state store edited by hand
  // must still not make the coordinator write elsewhere.
  if (!IsSafeFolderName(id)) {
    return absl::InternalError(absl::StrCat("job id '", Excerpt(id), "' is not a safe folder name; "
                                            "its folder would leave --state-dir"));
  }
  return absl::StrFormat("%s/jobs/%s", state_dir_, id);
}

absl::Status JobManager::Resume() {
  absl::StatusOr<std::vector<star::v1::JobStatus>> stored = coordinator_->store().Jobs();
  if (!stored.ok()) return stored.status();
  absl::MutexLock lock(&mu_);
  for (star::v1::JobStatus& status : *stored) {
    const std::string id = status.job_id();
    const bool running = status.state() == star::v1::JOB_STATE_PENDING ||
                         status.state() == star::v1::JOB_STATE_RUNNING;
    JobRunnerOptions options = runner_options_;
    absl::StatusOr<std::string> job_dir = JobDir(id);
    if (!job_dir.ok()) return job_dir.status();
    options.job_dir = *std::move(job_dir);
    auto runner = std::make_unique<JobRunner>(coordinator_, std::move(status), options);
    if (running) {
      STAR_LOG(INFO) << "resuming job " << id;
      runner->Start();
    }
    jobs_[id] = std::move(runner);
    ++next_;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> JobManager::Submit(const star::v1::JobSpec& submitted) {
  if (absl::Status s = ValidateJobSpec(submitted, "spec"); !s.ok()) return s;
  star::v1::JobSpec spec = submitted;
  if (absl::Status s = ConfineJobPaths(data_roots_, &spec); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("spec: ", s.message()));
  }
  // Question files are read now, so that a bad one is refused to the submitter naming its line
  // (the job copies them into its directory when it starts, and reads only the copies after).
  // Outside the lock: reading a large file must not hold up Find() and List().
  absl::StatusOr<std::unique_ptr<TaskSuite>> suite = MakeTaskSuite(spec);
  absl::Status loaded = suite.ok() ? (*suite)->Load("") : suite.status();
  if (!loaded.ok()) return absl::InvalidArgumentError(absl::StrCat("spec: ", loaded.message()));
  // The prompts must fit the model's context with max_new_tokens: checked now when the model's
  // config and tokenizer can be read (the job checks again when it starts, and fails then
  // naming whatever cannot be read).
  const star::v1::ModelSpec& model = spec.model();
  const std::string config = model.base_checkpoint().empty() ? model.init_config()
                                                             : model.base_checkpoint() + "/config.json";
  const std::string tokenizer = model.base_checkpoint().empty()
                                    ? model.init_tokenizer()
                                    : model.base_checkpoint() + "/tokenizer.json";
  std::error_code ec;
  if (std::filesystem::is_regular_file(config, ec) && std::filesystem::is_regular_file(tokenizer, ec)) {
    std::vector<std::string> prompts;
    for (const auto* questions : {&(*suite)->pool(), &(*suite)->eval()}) {
      for (const Question& q : *questions) {
        prompts.push_back((*suite)->GenerationPrompt(q));
        prompts.push_back((*suite)->HintedGenerationPrompt(q));
      }
    }
    std::vector<const std::string*> views;
    for (const std::string& p : prompts) views.push_back(&p);
    absl::Status fits = CheckPromptsFit(config, tokenizer, views, spec.generation().max_new_tokens());
    if (absl::IsFailedPrecondition(fits)) {
      return absl::InvalidArgumentError(absl::StrCat("spec: ", fits.message()));
    }
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [id, runner] : jobs_) {
    if (!runner->Finished()) {
      return absl::FailedPreconditionError(
          absl::StrFormat("job %s is still running; one job runs at a time", id));
    }
  }
  std::string id = absl::StrFormat("%s-%d", spec.name(), next_++);
  JobRunnerOptions options = runner_options_;
  absl::StatusOr<std::string> job_dir = JobDir(id);
  if (!job_dir.ok()) return job_dir.status();
  options.job_dir = *std::move(job_dir);
  auto runner = std::make_unique<JobRunner>(coordinator_, id, spec, options);
  // On disk before the caller hears the id: a coordinator restarted at any point knows the job.
  if (absl::Status s = coordinator_->store().PutJob(runner->Status()); !s.ok()) return s;
  runner->Start();
  jobs_[id] = std::move(runner);
  return id;
}

JobRunner* JobManager::Find(const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

absl::StatusOr<star::v1::JobStatus> JobManager::Get(const std::string& job_id) const {
  JobRunner* runner = Find(job_id);
  if (runner == nullptr) return absl::NotFoundError(absl::StrFormat("job_id '%s' is unknown", job_id));
  return runner->Status();
}

std::vector<star::v1::JobStatus> JobManager::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<star::v1::JobStatus> out;
  for (const auto& [id, runner] : jobs_) out.push_back(runner->Status());
  return out;
}

absl::StatusOr<star::v1::JobStatus> JobManager::Cancel(const std::string& job_id) {
  JobRunner* runner = Find(job_id);
  if (runner == nullptr) return absl::NotFoundError(absl::StrFormat("job_id '%s' is unknown", job_id));
  runner->Cancel();
  return runner->Status();
}

void JobManager::Shutdown() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, runner] : jobs_) runner->Interrupt();
  jobs_.clear();  // joins each runner's thread
}

}  // namespace star
