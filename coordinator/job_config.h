#ifndef STAR_COORDINATOR_JOB_CONFIG_H_
#define STAR_COORDINATOR_JOB_CONFIG_H_

// Job files: YAML mapped field by field onto star.v1.JobSpec (one schema for the file and the
// API), then checked for meaning.
//
//   name: addition
//   task: {addition: {min_digits: 1, max_digits: 5, train_questions: 2000}}
//   training: {initial_steps: 300, step_increment: 20}
//
// Keys are the proto field names. Every error is kInvalidArgument and names the source, the
// line and the dotted path of the field ("job.yaml:7: training.learning_rate: ...").

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "star/v1/job.pb.h"

namespace star {

// Parses YAML text; `source` names it in errors. Unknown keys, wrong types, values out of range
// and contradictions (min_digits > max_digits, no task) are errors. Fields left out keep the
// defaults of DefaultJobSpec().
absl::StatusOr<star::v1::JobSpec> ParseJobYaml(const std::string& yaml, const std::string& source);
absl::StatusOr<star::v1::JobSpec> LoadJobFile(const std::string& path);

// The defaults a job file starts from (the paper's arithmetic settings scaled to one machine).
star::v1::JobSpec DefaultJobSpec();

// Whether `name` may be a folder name under the state directory (a job name, a job id):
// letters, digits, '.', '_' and '-' only, and not '.' first (no "..", no hidden folder, no
// separator, no NUL).
bool IsSafeFolderName(absl::string_view name);

// Checks the meaning of a complete spec (also used for specs submitted over the API).
absl::Status ValidateJobSpec(const star::v1::JobSpec& spec, const std::string& source);

}  // namespace star

#endif  // STAR_COORDINATOR_JOB_CONFIG_H_
