#ifndef STAR_TESTS_SMALL_JOB_H_
#define STAR_TESTS_SMALL_JOB_H_

// A small addition job for tests that drive a job through the coordinator's handlers: 1-2 digit
// sums, 4 training questions, 2 held-out questions per length, shards of 4, one iteration.
// Header-only: it needs the STAR_SOURCE_DIR every test target defines.

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/job_config.h"
#include "tests/test_environment.h"

namespace star::testing {

// The job named `name`, whose base checkpoint is the folder `dir`/m0 holding only the example
// model's config and tokenizer: the job reads them (it checks that prompts fit the context),
// and nothing generates from it.
inline star::v1::JobSpec SmallAdditionJob(const TempDir& dir, const std::string& name) {
  star::v1::JobSpec spec = DefaultJobSpec();
  spec.set_name(name);
  spec.set_iterations(1);
  spec.set_shard_size(4);
  const std::string m0 = dir.File("m0");
  std::filesystem::create_directories(m0);
  for (const char* file : {"config.json", "tokenizer.json"}) {
    std::filesystem::copy_file(absl::StrCat(STAR_SOURCE_DIR, "/examples/tiny-char-llama/", file),
                               absl::StrCat(m0, "/", file));
  }
  spec.mutable_model()->set_base_checkpoint(m0);
  auto* add = spec.mutable_task()->mutable_addition();
  add->set_min_digits(1);
  add->set_max_digits(2);
  add->set_train_questions(4);
  add->set_eval_questions_per_length(2);
  return spec;
}

}  // namespace star::testing

#endif  // STAR_TESTS_SMALL_JOB_H_
