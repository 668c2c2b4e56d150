#ifndef STAR_CLI_EXPORT_COMMAND_H_
#define STAR_CLI_EXPORT_COMMAND_H_

// `star export --state-dir DIR --iteration N [--job ID] [--output FILE]`: writes the rationales
// the coordinator accepted in iteration N of a job, as JSON Lines, one object per rationale:
// {"job_id", "iteration", "question_id", "shard_id", "rationalized", "prompt", "completion"},
// by question id. Reads the coordinator's database without changing it, also while the
// coordinator runs.

namespace star {

// Takes the whole argv (argv[1] is "export"); returns the exit code: 0 on success, 1 when the
// database, the job or the output cannot be read or written, 2 for bad flags.
int RunExport(int argc, char** argv);

}  // namespace star

#endif  // STAR_CLI_EXPORT_COMMAND_H_
