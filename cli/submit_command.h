#ifndef STAR_CLI_SUBMIT_COMMAND_H_
#define STAR_CLI_SUBMIT_COMMAND_H_

// `star submit JOB.yaml --coordinator HOST:PORT`: submits a job to a running coordinator (one
// deployed on Kubernetes, say) and prints its id. With --watch it then follows the job, a line
// per change of phase or progress, prints the per-iteration table and exits 0 only if the job
// succeeded. With --dry-run it only parses and checks the file.

namespace star {

// Takes the whole argv (argv[1] is "submit"); returns the exit code: 0 on success, 1 when the
// file is invalid, the coordinator refuses or is unreachable, or (--watch) the job did not
// succeed; 2 for bad flags.
int RunSubmit(int argc, char** argv);

}  // namespace star

#endif  // STAR_CLI_SUBMIT_COMMAND_H_
