#include "coordinator/job_config.h"
#include "tasks/addition_suite.h"

#include <cmath>
#include <functional>

#include "gtest/gtest.h"

namespace star {
namespace {

constexpr char kJob[] = R"(name: addition
task:
  addition: {min_digits: 1, max_digits: 5, train_questions: 2000, eval_questions_per_length: 100,
             seed_max_digits: 2, seed_examples: 500}
model:
  init_config: examples/tiny-char-llama/config.json
  init_tokenizer: examples/tiny-char-llama/tokenizer.json
generation: {max_new_tokens: 120, batch_size: 32}
filter: {rationalization: true}
training:
  initial_steps: 200
  step_increment: 20
  learning_rate: 0.0005
  world_size: 2
  global_batch_size: 32
iterations: 6
)";

TEST(JobConfigTest, ParsesAJobAndKeepsDefaultsForTheRest) {
  absl::StatusOr<star::v1::JobSpec> spec = ParseJobYaml(kJob, "job.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name(), "addition");
  EXPECT_EQ(spec->task().addition().max_digits(), 5u);
  EXPECT_EQ(spec->generation().max_new_tokens(), 120u);
  EXPECT_TRUE(spec->filter().rationalization());
  EXPECT_FLOAT_EQ(spec->training().learning_rate(), 0.0005f);
  EXPECT_EQ(spec->training().world_size(), 2u);
  EXPECT_EQ(spec->iterations(), 6u);
  // Left out: defaults.
  EXPECT_EQ(spec->shard_size(), DefaultJobSpec().shard_size());
  EXPECT_FLOAT_EQ(spec->training().grad_clip(), 1.0f);
}

void ExpectError(const std::string& yaml, const std::string& fragment) {
  absl::StatusOr<star::v1::JobSpec> spec = ParseJobYaml(yaml, "job.yaml");
  ASSERT_FALSE(spec.ok()) << yaml;
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(spec.status().message().find(fragment), std::string::npos) << spec.status();
}

TEST(JobConfigTest, UnknownKeyIsNamedWithItsLineAndTheKnownKeys) {
  ExpectError(std::string(kJob) + "trainig: {initial_steps: 3}\n",
              "job.yaml:17: trainig: unknown key (known here: name, task");
  ExpectError(std::string(kJob) + "filter: {rationalise: true}\n",
              "filter.rationalise: unknown key (known here: rationalization, deduplicate");
}

TEST(JobConfigTest, WrongTypesAreNamed) {
  ExpectError(std::string(kJob) + "iterations: many\n",
              "job.yaml:17: iterations: 'many' is not a non-negative integer");
  ExpectError(std::string(kJob) + "shard_size: -3\n", "shard_size: '-3' is not a non-negative integer");
  ExpectError(std::string(kJob) + "filter: {rationalization: yes please}\n",
              "filter.rationalization: 'yes please' is not true or false");
  ExpectError(std::string(kJob) + "training: {learning_rate: fast}\n",
              "training.learning_rate: 'fast' is not a finite number");
  ExpectError(std::string(kJob) + "training: [1, 2]\n", "training: must be a mapping");
  ExpectError(std::string(kJob) + "name: [a, b]\n", "name: must be a single value");
}

TEST(JobConfigTest, MeaninglessValuesAreNamed) {
  ExpectError(std::string(kJob) + "task: {addition: {min_digits: 4, max_digits: 2, train_questions: 5}}\n",
              "task.addition.max_digits: must be at least min_digits");
  ExpectError(std::string(kJob) +
                  "task: {addition: {min_digits: 1, max_digits: 5, train_questions: 5, "
                  "eval_max_digits: 3}}\n",
              "task.addition.eval_max_digits: must be 0 (= max_digits) or max_digits-18");
  ExpectError(std::string(kJob) + "training: {world_size: 3, global_batch_size: 32}\n",
              "training.global_batch_size: must be a multiple of training.world_size");
  // Found by fuzz/job_config_fuzzer: the multiple check divided by zero (SIGFPE).
  ExpectError(std::string(kJob) + "training: {world_size: 0, global_batch_size: 32}\n",
              "training.world_size: must be 1-1024");
  ExpectError(std::string(kJob) + "generation: {samples_per_question: 4}\n",
              "generation.samples_per_question: more than one sample needs a temperature");
  ExpectError("name: x\n", "task: must name a task");
  // The name becomes a folder under the state directory: nothing that leaves it.
  for (const char* bad : {"../../escaped-by-name", ".hidden", "a/b", "a b", "\"a\\0b\""}) {
    ExpectError(std::string(kJob) + "name: " + bad + "\n",
                "name: '");
  }
  ExpectError(std::string(kJob) + "name: ../../escaped-by-name\n",
              "job.yaml: name: '../../escaped-by-name' may hold only letters, digits, '.', '_' and "
              "'-', and not start with '.'");
  ExpectError(std::string(kJob) + "name: \"a\\0b\"\n", "name: 'a\\x00\\x62' may hold only");
  ExpectError(std::string(kJob) + "model: {base_checkpoint: /m, init_config: c.json, init_tokenizer: t.json}\n",
              "model: base_checkpoint and init_config exclude each other");
}

// What a job file cannot say (YAML numbers here must be finite) but an API client can send.
TEST(JobConfigTest, SubmittedSpecsWithValuesNoFileCanHoldAreRefused) {
  absl::StatusOr<star::v1::JobSpec> valid = ParseJobYaml(kJob, "job.yaml");
  ASSERT_TRUE(valid.ok()) << valid.status();
  const auto refused = [&](const std::function<void(star::v1::JobSpec&)>& change,
                           const std::string& expected) {
    star::v1::JobSpec spec = *valid;
    change(spec);
    absl::Status s = ValidateJobSpec(spec, "spec");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << expected;
    EXPECT_NE(s.message().find(expected), std::string::npos) << s;
  };
  refused([](star::v1::JobSpec& s) { s.mutable_training()->set_grad_clip(INFINITY); },
          "spec: training.grad_clip: must be a finite number");
  refused([](star::v1::JobSpec& s) { s.set_plateau_min_gain(NAN); }, "spec: plateau_min_gain: ");
  refused([](star::v1::JobSpec& s) { s.set_plateau_min_gain(-INFINITY); }, "plateau_min_gain");
  refused([](star::v1::JobSpec& s) {
    s.mutable_task()->mutable_addition()->set_format(static_cast<star::v1::AdditionTaskSpec::Format>(7));
  }, "spec: task.addition.format: 7 is not a format");
  refused([](star::v1::JobSpec& s) {
    s.mutable_model()->set_init_config(std::string(5000, 'a'));
  }, "spec: model.init_config: is too long");
}

TEST(JobConfigTest, FormatWeakSeedAndGreedySample) {
  absl::StatusOr<star::v1::JobSpec> spec = ParseJobYaml(
      std::string(kJob) +
          "task: {addition: {min_digits: 1, max_digits: 5, train_questions: 50, format: columns,\n"
          "                  seed_max_digits: 2, seed_examples: 100,\n"
          "                  seed_examples_per_longer_length: 40}}\n"
          "generation: {temperature: 0.7, samples_per_question: 4, add_greedy_sample: true}\n",
      "job.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->task().addition().format(), star::v1::AdditionTaskSpec::COLUMNS);
  EXPECT_EQ(spec->task().addition().seed_examples_per_longer_length(), 40u);
  EXPECT_TRUE(spec->generation().add_greedy_sample());
  absl::StatusOr<star::v1::JobSpec> by_length = ParseJobYaml(
      std::string(kJob) +
          "task: {addition: {min_digits: 1, max_digits: 5, train_questions: 50, format: compact,\n"
          "                  seed_max_digits: 3, seed_examples: 100,\n"
          "                  seed_examples_by_longer_length: [40, 120]}}\n",
      "job.yaml");
  ASSERT_TRUE(by_length.ok()) << by_length.status();
  EXPECT_EQ(by_length->task().addition().format(), star::v1::AdditionTaskSpec::COMPACT);
  EXPECT_EQ(by_length->task().addition().seed_examples_by_longer_length().size(), 2);
  EXPECT_EQ(by_length->task().addition().seed_examples_by_longer_length(1), 120u);
  // What the seed stage trains on per length: 100 spread over 1-3 digits, then the list.
  std::vector<uint32_t> seeds;
  for (uint32_t d = 1; d <= 5; ++d) {
    seeds.push_back(SeedExamplesOfLength(by_length->task().addition(), d));
  }
  EXPECT_EQ(seeds, (std::vector<uint32_t>{33, 33, 33, 40, 120}));
  EXPECT_EQ(SeedExamplesOfLength(spec->task().addition(), 1), 50u);  // 100 over 1-2 digits
  EXPECT_EQ(SeedExamplesOfLength(spec->task().addition(), 5), 40u);  // per longer length
  // Left out, the format is the paper's scratchpad.
  EXPECT_EQ(ParseJobYaml(kJob, "job.yaml")->task().addition().format(),
            star::v1::AdditionTaskSpec::SCRATCHPAD);
  ExpectError(std::string(kJob) + "task: {addition: {max_digits: 5, train_questions: 5, format: rows}}\n",
              "task.addition.format: 'rows' is not a known value (known: scratchpad, columns, compact, "
              "tagged)");
  ExpectError(std::string(kJob) +
                  "task: {addition: {max_digits: 2, train_questions: 5, seed_max_digits: 2,\n"
                  "                  seed_examples_per_longer_length: 10}}\n",
              "task.addition.seed_examples_per_longer_length: needs lengths above seed_max_digits");
  ExpectError(std::string(kJob) +
                  "task: {addition: {max_digits: 5, train_questions: 5, seed_max_digits: 5,\n"
                  "                  train_questions_per_longer_length: 10}}\n",
              "task.addition.train_questions_per_longer_length: needs generated questions");
  ExpectError(std::string(kJob) +
                  "task: {addition: {max_digits: 5, train_questions: 5, seed_max_digits: 2,\n"
                  "                  seed_examples_by_longer_length: [40, 80]}}\n",
              "task.addition.seed_examples_by_longer_length: needs one count per length from "
              "seed_max_digits + 1 to max_digits (3), not 2");
  ExpectError(std::string(kJob) +
                  "task: {addition: {max_digits: 4, train_questions: 5, seed_max_digits: 2,\n"
                  "                  seed_examples_per_longer_length: 10,\n"
                  "                  seed_examples_by_longer_length: [40, 80]}}\n",
              "task.addition.seed_examples_by_longer_length: replaces "
              "seed_examples_per_longer_length");
  ExpectError(std::string(kJob) +
                  "task: {addition: {max_digits: 2, train_questions: 5, seed_max_digits: 0,\n"
                  "                  seed_examples_by_longer_length: [4, 8]}}\n",
              "task.addition.seed_examples_by_longer_length: needs seed_max_digits of at least 1");
  ExpectError(std::string(kJob) + "task: {addition: {seed_examples_by_longer_length: [4, -1]}}\n",
              "task.addition.seed_examples_by_longer_length[1]: '-1' is not a count");
  ExpectError(std::string(kJob) + "task: {addition: {seed_examples_by_longer_length: 4}}\n",
              "task.addition.seed_examples_by_longer_length: must be a list of counts");
  ExpectError(std::string(kJob) + "filter: {bucket_balance_max_repeat: 65}\n",
              "filter.bucket_balance_max_repeat: must be 0-64");
  ExpectError(std::string(kJob) + "generation: {add_greedy_sample: true}\n",
              "generation.add_greedy_sample: needs a temperature above 0");
}

TEST(JobConfigTest, QuestionFilesReplaceTheCounts) {
  absl::StatusOr<star::v1::JobSpec> spec = ParseJobYaml(
      "name: files\n"
      "task: {addition: {min_digits: 1, max_digits: 3, train_file: train.jsonl, "
      "eval_file: eval.jsonl}}\n"
      "model: {base_checkpoint: /models/m0}\n",
      "job.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->task().addition().train_file(), "train.jsonl");
  EXPECT_EQ(spec->task().addition().eval_file(), "eval.jsonl");
  ExpectError("name: files\nmodel: {base_checkpoint: /m}\n"
              "task: {addition: {min_digits: 1, max_digits: 3, train_questions: 5, train_file: t.jsonl}}\n",
              "task.addition.train_questions: must be 0 (or left out) with train_file");
  ExpectError("name: files\nmodel: {base_checkpoint: /m}\n"
              "task: {addition: {min_digits: 1, max_digits: 3, train_questions: 5, "
              "eval_questions_per_length: 2, eval_file: e.jsonl}}\n",
              "task.addition.eval_questions_per_length: must be 0 (or left out) with eval_file");
}

TEST(JobConfigTest, BrokenYamlGivesItsLine) {
  ExpectError("name: x\ntask: {addition: \n  - [", "job.yaml:");
  ExpectError("- just\n- a list\n", "job: must be a mapping");
}

TEST(JobConfigTest, MissingFileIsNotFound) {
  absl::StatusOr<star::v1::JobSpec> spec = LoadJobFile("/nonexistent/job.yaml");
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(spec.status().message().find("/nonexistent/job.yaml"), std::string::npos);
}

}  // namespace
}  // namespace star
