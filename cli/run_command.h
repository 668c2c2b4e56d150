#ifndef STAR_CLI_RUN_COMMAND_H_
#define STAR_CLI_RUN_COMMAND_H_

// `star run JOB.yaml`: a whole STaR job on this machine. Starts a local cluster, submits the
// job, shows a live line per phase, prints the per-iteration table at the end and writes
// results.csv, results.json and accuracy.svg (accuracy per operand length over iterations).

#include <string>

#include "star/v1/job.pb.h"

namespace star {

int RunRun(int argc, char** argv);

// The per-iteration table as text.
std::string FormatResultsTable(const star::v1::JobStatus& status);
// CSV: iteration, bucket, correct, total, accuracy, accepted_direct, accepted_rationalized, ...
std::string FormatResultsCsv(const star::v1::JobStatus& status);
// An SVG line chart of accuracy per bucket over iterations.
std::string FormatAccuracySvg(const star::v1::JobStatus& status);

}  // namespace star

#endif  // STAR_CLI_RUN_COMMAND_H_
