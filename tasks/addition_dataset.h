#ifndef STAR_TASKS_ADDITION_DATASET_H_
#define STAR_TASKS_ADDITION_DATASET_H_

// Addition questions from a file instead of the generator: JSON Lines, one question per line,
//
//   {"a": 624, "b": 257}
//   {"a": 31, "b": 45, "answer": 76}
//
// "a" and "b" are non-negative JSON integers with the same number of digits (1-18; the
// scratchpad adds digit columns of equally long operands); "answer", when given, must be their
// sum (a check on the file, not a source of truth). Other keys are errors, as are blank-only
// files; blank lines are skipped. Every error names the file and line: "train.jsonl:7: ...".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tasks/task.h"

namespace star {

struct AdditionDatasetOptions {
  // A question read from line L with operands of d digits gets the id
  // first_id + d * ids_per_length + L: unique, stable across reads of the same file, and
  // lengths kept apart.
  uint64_t first_id = 0;
  uint64_t ids_per_length = 1'000'000'000ULL;
  // Operand lengths allowed (a job's min_digits..max_digits).
  int min_digits = 1;
  int max_digits = 18;
};

// Parses `text` (the file's content; `source_name` names it in errors). kInvalidArgument naming
// the line for anything malformed or out of range.
absl::StatusOr<std::vector<Question>> ParseAdditionDataset(std::string_view text,
                                                           std::string_view source_name,
                                                           const AdditionDatasetOptions& options);

// Question files larger than this are refused (about 5 million questions).
inline constexpr int64_t kMaxAdditionDatasetBytes = 256LL << 20;

// Reads and parses the file at `path`: kNotFound when it does not exist, kInvalidArgument when
// it is not a regular file or is larger than kMaxAdditionDatasetBytes.
absl::StatusOr<std::vector<Question>> LoadAdditionDataset(const std::string& path,
                                                          const AdditionDatasetOptions& options);

}  // namespace star

#endif  // STAR_TASKS_ADDITION_DATASET_H_
