#ifndef STAR_CLI_RUN_COMMAND_H_
#define STAR_CLI_RUN_COMMAND_H_

// `star run JOB.yaml`: a whole STaR job on this machine. Starts a local cluster, submits the
// job, shows a live line per phase, prints the per-iteration table at the end and writes
// results.csv, results.json and accuracy.svg (accuracy per operand length over iterations).

#include <string>

#include "absl/status/statusor.h"
#include "flags/flag_parser.h"
#include "star/v1/job.pb.h"
#include "star/v1/jobs.grpc.pb.h"

namespace star {

int RunRun(int argc, char** argv);

// The GPUs a local cluster (`star run`, `star up`) spreads its members over for its --device
// value: every visible one for "auto" and "cuda", none for "cpu". kFailedPrecondition for
// "cuda" on a machine without one; kInvalidArgument for another value.
absl::StatusOr<int> LocalClusterGpus(const std::string& device);
// `star watch`: follows a job on a running coordinator to its end and prints its table.
int RunWatch(int argc, char** argv);
// Writes results.csv, results.json and accuracy.svg into `dir` (created); false on failure
// (reported on stderr).
bool WriteResults(const star::v1::JobStatus& status, const std::string& dir);

// How FollowJob treats a coordinator it stops hearing from. The coordinator sends the job's
// status at least every 5 seconds, so a longer silence means the connection or the coordinator
// is gone (a network partition, a stopped or rescheduled coordinator).
struct FollowOptions {
  // A stream with no message for this many seconds is dropped.
  double stall_seconds = 30;
  // Whether a dropped or broken stream is opened again (with backoff: 1 s, doubling, at most
  // 10 s). Off for a coordinator nobody will restart (`star run`'s own).
  bool reconnect = true;
  // Following fails when no message has arrived for this many seconds.
  double give_up_seconds = 600;
};

// Follows a job (WatchJob) until it ends, printing a progress line on every change of phase or
// shard count and at most every 2 seconds otherwise, and a line on stderr for each reconnection.
// Ctrl-C stops following. Returns the job's final status; kNotFound, kUnauthenticated and the
// like at once; kUnavailable after Ctrl-C or when the stream broke and reconnecting is off;
// kDeadlineExceeded when nothing was heard for `give_up_seconds`.
absl::StatusOr<star::v1::JobStatus> FollowJob(star::v1::Jobs::Stub& stub, const std::string& job_id,
                                              const FollowOptions& options = FollowOptions());
// Registers --stall-seconds and --give-up-seconds, filling `options`.
void AddFollowFlags(FlagParser& flags, FollowOptions* options);
// One line: iteration, phase, shards done/total and tokens/s, or the round's step, loss and
// tokens/s; the last measured overall accuracy.
std::string FormatProgressLine(const star::v1::JobStatus& status);
// The per-iteration table as text.
std::string FormatResultsTable(const star::v1::JobStatus& status);
// CSV: iteration, bucket, correct, total, accuracy, accepted_direct, accepted_rationalized, ...
std::string FormatResultsCsv(const star::v1::JobStatus& status);
// An SVG line chart of accuracy per bucket over iterations.
std::string FormatAccuracySvg(const star::v1::JobStatus& status);

}  // namespace star

#endif  // STAR_CLI_RUN_COMMAND_H_
