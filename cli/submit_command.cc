#include "cli/submit_command.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "cli/operator_connection.h"
#include "cli/run_command.h"
#include "coordinator/job_config.h"
#include "flags/flag_parser.h"
#include "grpcpp/grpcpp.h"
#include "service/grpc_status.h"
#include "service/health_client.h"
#include "star/v1/jobs.grpc.pb.h"

namespace star {

int RunSubmit(int argc, char** argv) {
  std::string job_path;
  OperatorConnectionFlags connection;
  bool watch = false;
  bool dry_run = false;
  FlagParser flags("star submit",
                   "Submits a STaR job (JOB.yaml) to a running coordinator and prints its id. "
                   "Paths in the file are read by the coordinator, relative to its working "
                   "directory.");
  flags.AddPositional("JOB.yaml", &job_path, "the job file");
  AddOperatorConnectionFlags(flags, &connection);
  flags.AddBool("watch", &watch,
                "follow the job until it ends, print its results table, exit 0 only if it "
                "succeeded");
  flags.AddBool("dry-run", &dry_run, "only parse and check the file; contact nothing");
  FollowOptions follow;
  AddFollowFlags(flags, &follow);
  flags.ParseOrExit(argc, argv, 2);
  std::shared_ptr<grpc::Channel> channel = OperatorChannel("star submit", connection);
  if (channel == nullptr) return 2;
  const std::string& coordinator = connection.coordinator;

  absl::StatusOr<star::v1::JobSpec> spec = LoadJobFile(job_path);
  if (!spec.ok()) {
    std::fprintf(stderr, "star submit: %s\n", std::string(spec.status().message()).c_str());
    return 1;
  }
  if (dry_run) {
    std::printf("job %s: %s is valid (%d iterations, %d trainer rank(s))\n", spec->name().c_str(),
                job_path.c_str(), spec->iterations(), spec->training().world_size());
    return 0;
  }
  auto stub = star::v1::Jobs::NewStub(channel);
  star::v1::SubmitJobRequest request;
  *request.mutable_spec() = *spec;
  star::v1::SubmitJobResponse submitted;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = stub->SubmitJob(&context, request, &submitted);
    if (!status.ok()) {
      std::fprintf(stderr, "star submit: %s: %s\n", coordinator.c_str(),
                   FromGrpcStatus(status).ToString().c_str());
      return 1;
    }
  }
  std::printf("job %s submitted to %s\n", submitted.job_id().c_str(), coordinator.c_str());
  std::fflush(stdout);
  if (!watch) return 0;

  absl::StatusOr<star::v1::JobStatus> followed = FollowJob(*stub, submitted.job_id(), follow);
  if (!followed.ok()) {
    std::fprintf(stderr, "star submit: %s\n", followed.status().ToString().c_str());
    return 1;
  }
  const star::v1::JobStatus& last = *followed;
  std::printf("\n%s", FormatResultsTable(last).c_str());
  if (last.state() != star::v1::JOB_STATE_SUCCEEDED) {
    std::fprintf(stderr, "star submit: job ended %s%s%s\n",
                 star::v1::JobState_Name(last.state()).c_str(), last.error().empty() ? "" : ": ",
                 last.error().c_str());
    return 1;
  }
  return 0;
}

}  // namespace star
