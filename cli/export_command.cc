#include "cli/export_command.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/state_store.h"
#include "flags/flag_parser.h"
#include "nlohmann/json.hpp"

namespace star {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "star export: %s\n", message.c_str());
  return 1;
}

}  // namespace

int RunExport(int argc, char** argv) {
  std::string state_dir = "./star-state";
  std::string job_id;
  std::string output;
  int64_t iteration = -1;
  FlagParser flags("star export",
                   "Writes the rationales a coordinator accepted in one iteration of a job as "
                   "JSON Lines (job_id, iteration, question_id, shard_id, rationalized, prompt, "
                   "completion), by question id. Safe while the coordinator runs.");
  flags.AddString("state-dir", &state_dir, "the coordinator's --state-dir");
  flags.AddInt("iteration", &iteration, "the STaR iteration (1 = generated with M0)", 0,
               1'000'000);
  flags.AddString("job", &job_id, "the job id (default: the only job, or the latest one)");
  flags.AddString("output", &output, "write here instead of standard output");
  flags.ParseOrExit(argc, argv, 2);
  if (iteration < 0) {
    std::fprintf(stderr, "star export: --iteration is required\n");
    return 2;
  }
  const std::string path = StateStore::PathIn(state_dir);
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::OpenReadOnly(path);
  if (!store.ok()) return Fail(absl::StrCat("--state-dir ", state_dir, ": ", store.status().message()));
  absl::StatusOr<std::vector<star::v1::JobStatus>> jobs = (*store)->Jobs();
  if (!jobs.ok()) return Fail(std::string(jobs.status().message()));
  if (jobs->empty()) return Fail(absl::StrCat(path, " holds no jobs"));
  const star::v1::JobStatus* job = &jobs->back();
  if (!job_id.empty()) {
    job = nullptr;
    std::string known;
    for (const star::v1::JobStatus& j : *jobs) {
      if (j.job_id() == job_id) job = &j;
      absl::StrAppend(&known, known.empty() ? "" : ", ", j.job_id());
    }
    if (job == nullptr) return Fail(absl::StrCat("--job ", job_id, " is not in ", path, " (jobs: ", known, ")"));
  }
  absl::StatusOr<std::vector<AcceptedRationale>> accepted =
      (*store)->Accepted(job->job_id(), static_cast<uint32_t>(iteration));
  if (!accepted.ok()) return Fail(std::string(accepted.status().message()));

  std::ofstream file;
  if (!output.empty()) {
    file.open(output, std::ios::trunc);
    if (!file) return Fail(absl::StrCat("--output ", output, ": cannot write"));
  }
  std::ostream& out = output.empty() ? std::cout : file;
  for (const AcceptedRationale& r : *accepted) {
    nlohmann::json line = {{"job_id", r.job_id},       {"iteration", r.iteration},
                           {"question_id", r.question_id}, {"shard_id", r.shard_id},
                           {"rationalized", r.rationalized}, {"prompt", r.prompt},
                           {"completion", r.completion}};
    out << line.dump() << '\n';
  }
  out.flush();
  if (!out) return Fail(absl::StrCat(output.empty() ? "standard output" : output, ": write failed"));
  std::fprintf(stderr, "star export: %zu rationales of job %s iteration %lld\n", accepted->size(),
               job->job_id().c_str(), static_cast<long long>(iteration));
  return 0;
}

}  // namespace star
