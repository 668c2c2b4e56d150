#include "tasks/addition_suite.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "tasks/addition_dataset.h"

namespace star {
namespace {

// Question ids: the digit count in the high part keeps lengths apart.
constexpr uint64_t kIdsPerLength = 1'000'000'000ULL;

AdditionDatasetOptions FileOptions(const star::v1::AdditionTaskSpec& add, bool eval) {
  AdditionDatasetOptions options;
  options.first_id = eval ? kEvalIdOffset : 0;
  options.ids_per_length = kIdsPerLength;
  options.min_digits = static_cast<int>(add.min_digits());
  options.max_digits = static_cast<int>(eval ? std::max(add.max_digits(), add.eval_max_digits())
                                             : add.max_digits());
  return options;
}

// Reads (or re-reads the kept copy of) a question file, errors prefixed with the field.
absl::Status LoadQuestionFile(const std::string& field, const std::string& path,
                              const std::string& kept, const AdditionDatasetOptions& options,
                              std::vector<Question>* questions) {
  absl::StatusOr<std::string> text = ReadTaskFile(field, path, kept);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<Question>> parsed = ParseAdditionDataset(*text, path, options);
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(), absl::StrCat(field, ": ", parsed.status().message()));
  }
  *questions = *std::move(parsed);
  return KeepTaskFile(field, kept, *text);
}

}  // namespace

absl::Status AdditionSuite::Load(const std::string& job_dir) {
  const star::v1::AdditionTaskSpec& add = spec_;
  const auto kept = [&](const char* name) {
    return job_dir.empty() ? std::string() : absl::StrCat(job_dir, "/questions/", name);
  };
  pool_.clear();
  eval_.clear();
  // Held-out split: eval_questions_per_length per operand length, up to eval_max_digits.
  if (!add.eval_file().empty()) {
    if (absl::Status s = LoadQuestionFile("task.addition.eval_file", add.eval_file(),
                                          kept("eval.jsonl"), FileOptions(add, true), &eval_);
        !s.ok()) {
      return s;
    }
  } else {
    const uint32_t eval_max = std::max(add.max_digits(), add.eval_max_digits());
    for (uint32_t d = add.min_digits(); d <= eval_max; ++d) {
      for (Question& q : AdditionTask::Generate(static_cast<int>(d), add.eval_questions_per_length(),
                                                seed_ * 31 + d + 1000,
                                                kEvalIdOffset + d * kIdsPerLength)) {
        eval_.push_back(std::move(q));
      }
    }
  }
  // Training pool: train_questions spread evenly over the lengths (up to seed_max_digits when
  // longer lengths get train_questions_per_longer_length each).
  if (!add.train_file().empty()) {
    return LoadQuestionFile("task.addition.train_file", add.train_file(), kept("train.jsonl"),
                            FileOptions(add, false), &pool_);
  }
  const uint32_t longer = add.train_questions_per_longer_length();
  const uint32_t last_even = longer > 0 ? add.seed_max_digits() : add.max_digits();
  const uint32_t lengths = last_even - add.min_digits() + 1;
  for (uint32_t d = add.min_digits(); d <= add.max_digits(); ++d) {
    const uint32_t count = d > last_even ? longer
                                         : add.train_questions() / lengths +
                                               (d - add.min_digits() < add.train_questions() % lengths ? 1 : 0);
    for (Question& q : AdditionTask::Generate(static_cast<int>(d), static_cast<int>(count),
                                              seed_ * 31 + d, d * kIdsPerLength)) {
      pool_.push_back(std::move(q));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SeedExample>> AdditionSuite::SeedExamples() const {
  std::vector<SeedExample> examples;
  const uint32_t seed_lengths = std::max<uint32_t>(1, spec_.seed_max_digits());
  for (uint32_t d = 1; d <= std::max(seed_lengths, spec_.max_digits()); ++d) {
    const uint32_t count = SeedExamplesOfLength(spec_, d);
    std::vector<Question> qs = AdditionTask::Generate(static_cast<int>(d), static_cast<int>(count),
                                                      seed_ * 31 + d + 2000,
                                                      kSeedIdOffset + d * kIdsPerLength);
    for (size_t i = 0; i < qs.size(); ++i) {
      absl::StatusOr<std::string> completion = task_.ReferenceCompletion(qs[i]);
      if (!completion.ok()) return completion.status();
      examples.push_back({.id = qs[i].id,
                          .prompt = i % 4 == 3 ? task_.HintedPrompt(qs[i]) : task_.Prompt(qs[i]),
                          .completion = *std::move(completion)});
    }
  }
  if (examples.empty()) {
    return absl::InvalidArgumentError(
        "task.addition.seed_examples: a model trained from scratch needs seed examples");
  }
  return examples;
}

absl::Status ValidateAdditionSpec(const star::v1::AdditionTaskSpec& a) {
  absl::Status s;
  auto check = [&](bool ok, const std::string& field, const std::string& what) {
    if (s.ok() && !ok) s = absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
  };
  check(a.min_digits() >= 1 && a.min_digits() <= 18, "task.addition.min_digits", "must be 1-18");
  check(a.max_digits() >= a.min_digits() && a.max_digits() <= 18, "task.addition.max_digits",
        "must be at least min_digits and at most 18");
  if (a.train_file().empty()) {
    check(a.train_questions() >= 1 && a.train_questions() <= 10'000'000,
          "task.addition.train_questions", "must be 1-10000000");
  } else {
    check(a.train_questions() == 0, "task.addition.train_questions",
          "must be 0 (or left out) with train_file: the file holds the questions");
  }
  check(a.eval_questions_per_length() <= 1'000'000, "task.addition.eval_questions_per_length",
        "must be at most 1000000");
  check(a.eval_file().empty() || a.eval_questions_per_length() == 0,
        "task.addition.eval_questions_per_length",
        "must be 0 (or left out) with eval_file: the file holds the questions");
  check(a.seed_max_digits() <= a.max_digits(), "task.addition.seed_max_digits",
        "must be at most max_digits");
  check(a.train_questions_per_longer_length() <= 10'000'000,
        "task.addition.train_questions_per_longer_length", "must be at most 10000000");
  check(a.train_questions_per_longer_length() == 0 ||
            (a.train_file().empty() && a.seed_max_digits() >= a.min_digits() &&
             a.seed_max_digits() < a.max_digits()),
        "task.addition.train_questions_per_longer_length",
        "needs generated questions (no train_file) and min_digits <= seed_max_digits < max_digits");
  check(a.seed_examples_per_longer_length() <= 1'000'000,
        "task.addition.seed_examples_per_longer_length", "must be at most 1000000");
  check(a.seed_examples_per_longer_length() == 0 || a.seed_max_digits() < a.max_digits(),
        "task.addition.seed_examples_per_longer_length",
        "needs lengths above seed_max_digits (seed_max_digits < max_digits)");
  if (a.seed_examples_by_longer_length_size() > 0) {
    check(a.seed_examples_per_longer_length() == 0,
          "task.addition.seed_examples_by_longer_length",
          "replaces seed_examples_per_longer_length: set one of them");
    check(a.seed_max_digits() >= 1, "task.addition.seed_examples_by_longer_length",
          "needs seed_max_digits of at least 1");
    check(a.seed_max_digits() < a.max_digits() &&
              a.seed_examples_by_longer_length_size() ==
                  static_cast<int>(a.max_digits() - a.seed_max_digits()),
          "task.addition.seed_examples_by_longer_length",
          absl::StrCat("needs one count per length from seed_max_digits + 1 to max_digits (",
                       a.max_digits() > a.seed_max_digits() ? a.max_digits() - a.seed_max_digits() : 0,
                       "), not ", a.seed_examples_by_longer_length_size()));
    for (uint32_t count : a.seed_examples_by_longer_length()) {
      check(count <= 1'000'000, "task.addition.seed_examples_by_longer_length",
            "each count must be at most 1000000");
    }
  }
  check(a.eval_max_digits() == 0 || (a.eval_max_digits() >= a.max_digits() && a.eval_max_digits() <= 18),
        "task.addition.eval_max_digits", "must be 0 (= max_digits) or max_digits-18");
  check(star::v1::AdditionTaskSpec::Format_IsValid(a.format()), "task.addition.format",
        absl::StrCat(a.format(), " is not a format (scratchpad, columns, compact, tagged)"));
  check(a.train_file().size() <= kMaxSpecPathBytes, "task.addition.train_file", "is too long");
  check(a.eval_file().size() <= kMaxSpecPathBytes, "task.addition.eval_file", "is too long");
  return s;
}

uint32_t SeedExamplesOfLength(const star::v1::AdditionTaskSpec& spec, uint32_t digits) {
  const uint32_t seed_lengths = std::max<uint32_t>(1, spec.seed_max_digits());
  if (digits <= seed_lengths) return spec.seed_examples() / seed_lengths;
  const uint32_t longer = digits - seed_lengths - 1;  // 0 for the first longer length
  if (spec.seed_examples_by_longer_length_size() == 0) {
    return spec.seed_examples_per_longer_length();
  }
  return longer < static_cast<uint32_t>(spec.seed_examples_by_longer_length_size())
             ? spec.seed_examples_by_longer_length(static_cast<int>(longer))
             : 0;
}

}  // namespace star
