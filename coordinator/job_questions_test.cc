// A job's questions, generated or read from question files, and the refusal of a job whose
// file is bad before anything runs.

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "coordinator/job_manager.h"
#include "coordinator/job_runner.h"
#include "gtest/gtest.h"
#include "tasks/task_suite.h"
#include "tests/test_environment.h"

namespace star {
namespace {

// The job's questions as its task suite loads them.
struct JobQuestions {
  std::vector<Question> pool;
  std::vector<Question> eval;
};
absl::StatusOr<JobQuestions> MakeJobQuestions(const star::v1::JobSpec& spec,
                                              const std::string& job_dir = "") {
  absl::StatusOr<std::unique_ptr<TaskSuite>> suite = MakeTaskSuite(spec);
  if (!suite.ok()) return suite.status();
  if (absl::Status s = (*suite)->Load(job_dir); !s.ok()) return s;
  return JobQuestions{(*suite)->pool(), (*suite)->eval()};
}

star::v1::JobSpec Spec() {
  star::v1::JobSpec spec;
  spec.set_name("files");
  spec.set_iterations(1);
  spec.set_seed(3);
  auto* add = spec.mutable_task()->mutable_addition();
  add->set_min_digits(1);
  add->set_max_digits(2);
  add->set_train_questions(7);
  add->set_eval_questions_per_length(2);
  add->set_eval_max_digits(3);
  spec.mutable_model()->set_base_checkpoint("/nonexistent/model");
  spec.mutable_generation()->set_max_new_tokens(40);
  spec.mutable_generation()->set_top_p(1);
  spec.mutable_generation()->set_samples_per_question(1);
  spec.mutable_generation()->set_batch_size(8);
  spec.mutable_training()->set_initial_steps(1);
  spec.mutable_training()->set_learning_rate(0.001f);
  spec.mutable_training()->set_global_batch_size(4);
  spec.mutable_training()->set_world_size(1);
  spec.set_shard_size(4);
  spec.set_lease_timeout_seconds(60);
  return spec;
}

// Spec() with its base checkpoint an (empty) folder `dir`/model, so that it passes the data
// roots check at submission.
star::v1::JobSpec SpecWithModelIn(const std::string& dir) {
  std::filesystem::create_directories(dir + "/model");
  star::v1::JobSpec spec = Spec();
  spec.mutable_model()->set_base_checkpoint(dir + "/model");
  return spec;
}

TEST(JobQuestionsTest, GeneratedQuestionsAreSpreadOverTheLengthsAndRepeatable) {
  absl::StatusOr<JobQuestions> questions = MakeJobQuestions(Spec());
  ASSERT_TRUE(questions.ok()) << questions.status();
  std::map<std::string, int> pool, eval;
  for (const Question& q : questions->pool) ++pool[q.bucket];
  for (const Question& q : questions->eval) ++eval[q.bucket];
  EXPECT_EQ(pool, (std::map<std::string, int>{{"1", 4}, {"2", 3}}));
  EXPECT_EQ(eval, (std::map<std::string, int>{{"1", 2}, {"2", 2}, {"3", 2}}));
  absl::StatusOr<JobQuestions> again = MakeJobQuestions(Spec());
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < questions->pool.size(); ++i) {
    EXPECT_EQ(again->pool[i].id, questions->pool[i].id);
    EXPECT_EQ(again->pool[i].text, questions->pool[i].text);
  }
}

TEST(JobQuestionsTest, LongerLengthsCanHaveTheirOwnCountInThePool) {
  star::v1::JobSpec spec = Spec();
  auto* add = spec.mutable_task()->mutable_addition();
  add->set_max_digits(4);
  add->set_seed_max_digits(2);
  add->set_train_questions(5);
  add->set_train_questions_per_longer_length(6);
  absl::StatusOr<JobQuestions> questions = MakeJobQuestions(spec);
  ASSERT_TRUE(questions.ok()) << questions.status();
  std::map<std::string, int> pool;
  for (const Question& q : questions->pool) ++pool[q.bucket];
  EXPECT_EQ(pool, (std::map<std::string, int>{{"1", 3}, {"2", 2}, {"3", 6}, {"4", 6}}));
}

TEST(JobQuestionsTest, QuestionFilesReplaceTheGeneratedSplits) {
  testing::TempDir dir;
  star::v1::JobSpec spec = Spec();
  auto* add = spec.mutable_task()->mutable_addition();
  add->set_train_questions(0);
  add->set_eval_questions_per_length(0);
  add->set_train_file(dir.Write("train.jsonl", "{\"a\": 12, \"b\": 34}\n{\"a\": 5, \"b\": 9}\n"));
  add->set_eval_file(dir.Write("eval.jsonl", "{\"a\": 123, \"b\": 456}\n"));
  absl::StatusOr<JobQuestions> questions = MakeJobQuestions(spec);
  ASSERT_TRUE(questions.ok()) << questions.status();
  ASSERT_EQ(questions->pool.size(), 2u);
  EXPECT_EQ(questions->pool[0].text, "1 2 + 3 4");
  EXPECT_EQ(questions->pool[1].answer, "1 4");
  ASSERT_EQ(questions->eval.size(), 1u);
  EXPECT_EQ(questions->eval[0].bucket, "3");
  // Training and evaluation ids never meet.
  EXPECT_NE(questions->eval[0].id, questions->pool[0].id);
  EXPECT_NE(questions->eval[0].id, questions->pool[1].id);

  // Eval operands may be as long as eval_max_digits, training operands only max_digits.
  add->set_train_file(dir.Write("long.jsonl", "{\"a\": 12, \"b\": 34}\n{\"a\": 123, \"b\": 456}\n"));
  absl::StatusOr<JobQuestions> refused = MakeJobQuestions(spec);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "task.addition.train_file: " + dir.File("long.jsonl") +
                ":2: 3-digit operands are outside the job's lengths (1-2 digits)");
}

// A job keeps a copy of its question files: resumed after the original changed, it still sees
// the questions (and ids) it started with.
TEST(JobQuestionsTest, AJobReadsTheCopyOfItsQuestionFileItKept) {
  testing::TempDir dir;
  star::v1::JobSpec spec = Spec();
  spec.mutable_task()->mutable_addition()->set_train_questions(0);
  const std::string original = dir.Write("train.jsonl", "{\"a\": 12, \"b\": 34}\n");
  spec.mutable_task()->mutable_addition()->set_train_file(original);
  const std::string job_dir = dir.File("jobs/files-1");
  absl::StatusOr<JobQuestions> first = MakeJobQuestions(spec, job_dir);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(testing::ReadFile(job_dir + "/questions/train.jsonl"), "{\"a\": 12, \"b\": 34}\n");
  dir.Write("train.jsonl", "\n{\"a\": 56, \"b\": 78}\n");
  absl::StatusOr<JobQuestions> resumed = MakeJobQuestions(spec, job_dir);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ASSERT_EQ(resumed->pool.size(), 1u);
  EXPECT_EQ(resumed->pool[0].id, first->pool[0].id);
  EXPECT_EQ(resumed->pool[0].text, "1 2 + 3 4");
  // Without a job directory (the check at submission) the file itself is read.
  absl::StatusOr<JobQuestions> fresh = MakeJobQuestions(spec);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->pool[0].text, "5 6 + 7 8");
}

TEST(JobQuestionsTest, AJobWithABadQuestionFileIsRefusedAtSubmissionNamingTheLine) {
  testing::TempDir dir;
  Coordinator coordinator{CoordinatorOptions{}};
  JobManager jobs(&coordinator, dir.path(), PathPolicy::Create({dir.path()}).value());
  star::v1::JobSpec spec = SpecWithModelIn(dir.path());
  spec.mutable_task()->mutable_addition()->set_train_questions(0);
  spec.mutable_task()->mutable_addition()->set_train_file(
      dir.Write("train.jsonl", "{\"a\": 12, \"b\": 34}\n{\"a\": 12, \"b\": \"x\"}\n"));
  absl::StatusOr<std::string> submitted = jobs.Submit(spec);
  EXPECT_EQ(submitted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(submitted.status().message(),
            "spec: task.addition.train_file: " + dir.File("train.jsonl") +
                ":2: \"b\" must be a non-negative integer, not \"x\"");
  spec.mutable_task()->mutable_addition()->set_train_file(dir.File("missing.jsonl"));
  submitted = jobs.Submit(spec);
  EXPECT_EQ(submitted.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(submitted.status().message().find("spec: task.addition.train_file: '" +
                                              dir.File("missing.jsonl") + "' cannot be resolved"),
            std::string::npos)
      << submitted.status();
  // Only regular files are read: not a directory or a FIFO, even under the data roots.
  ASSERT_EQ(::mkfifo(dir.File("fifo").c_str(), 0600), 0);
  for (const std::string& path : {dir.File("fifo"), dir.path()}) {
    spec.mutable_task()->mutable_addition()->set_train_file(path);
    submitted = jobs.Submit(spec);
    EXPECT_EQ(submitted.status().message(),
              "spec: task.addition.train_file: " + path + ": is not a regular file");
  }
  EXPECT_TRUE(jobs.List().empty());
}

TEST(JobQuestionsTest, EveryFileAJobNamesMustLieUnderTheDataRoots) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.File("data"));
  std::filesystem::create_directories(dir.File("state"));
  std::filesystem::create_directories(dir.File("elsewhere"));
  const std::string inside = dir.Write("data/train.jsonl", "{\"a\": 12, \"b\": 34}\n");
  const std::string outside = dir.Write("elsewhere/train.jsonl", "{\"a\": 12, \"b\": 34}\n");
  std::filesystem::create_symlink(outside, dir.File("data/link.jsonl"));
  Coordinator coordinator{CoordinatorOptions{}};
  JobManager jobs(&coordinator, dir.File("state"),
                  PathPolicy::Create({dir.File("data"), dir.File("state")}).value());
  const std::string roots = dir.File("data") + ", " + dir.File("state");

  struct Case {
    const char* field;
    std::string path;
  };
  for (const Case& c : {Case{"task.addition.train_file", outside},
                        Case{"model.base_checkpoint", "/usr/../etc"},
                        Case{"task.addition.train_file", dir.File("data/link.jsonl")},
                        Case{"task.addition.train_file", dir.File("data/../elsewhere/train.jsonl")},
                        Case{"task.addition.eval_file", "/proc/self/environ"},
                        Case{"model.init_config", "/etc/passwd"},
                        Case{"model.init_tokenizer", "/proc/self/environ"},
                        Case{"model.base_checkpoint", dir.File("elsewhere")}}) {
    star::v1::JobSpec spec = SpecWithModelIn(dir.File("data"));
    star::v1::AdditionTaskSpec& add = *spec.mutable_task()->mutable_addition();
    const std::string field = c.field;
    if (field == "task.addition.train_file") {
      add.set_train_questions(0);
      add.set_train_file(c.path);
    } else if (field == "task.addition.eval_file") {
      add.set_eval_questions_per_length(0);
      add.set_eval_file(c.path);
    } else if (field == "model.base_checkpoint") {
      spec.mutable_model()->Clear();
      spec.mutable_model()->set_base_checkpoint(c.path);
      add.set_seed_examples(0);
    } else {
      spec.mutable_model()->Clear();
      spec.mutable_model()->set_init_config(dir.Write("data/config.json", "{}"));
      spec.mutable_model()->set_init_tokenizer(dir.Write("data/tokenizer.json", "{}"));
      if (field == "model.init_config") spec.mutable_model()->set_init_config(c.path);
      if (field == "model.init_tokenizer") spec.mutable_model()->set_init_tokenizer(c.path);
    }
    absl::StatusOr<std::string> submitted = jobs.Submit(spec);
    EXPECT_EQ(submitted.status().code(), absl::StatusCode::kPermissionDenied)
        << c.field << " " << c.path << ": " << submitted.status();
    EXPECT_TRUE(absl::StartsWith(submitted.status().message(), "spec: " + field + ": '"))
        << submitted.status();
    EXPECT_NE(submitted.status().message().find("outside the data roots (" + roots + ")"),
              std::string::npos)
        << submitted.status();
  }
  EXPECT_TRUE(jobs.List().empty());

  // Under a root: accepted, and the job keeps the resolved path.
  star::v1::JobSpec spec = SpecWithModelIn(dir.File("data"));
  spec.mutable_task()->mutable_addition()->set_train_questions(0);
  spec.mutable_task()->mutable_addition()->set_train_file(dir.File("data/./train.jsonl"));
  absl::StatusOr<std::string> submitted = jobs.Submit(spec);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  absl::StatusOr<star::v1::JobStatus> status = jobs.Get(*submitted);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->spec().task().addition().train_file(), inside);
  jobs.Shutdown();
}

}  // namespace
}  // namespace star
