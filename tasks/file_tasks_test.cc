// The math, multiple_choice and jsonl tasks: reading their lines, their prompts and hints, what
// their verifiers believe, and their suites (files, few-shot exemplars, seed examples, errors).

#include <memory>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tasks/file_task_suite.h"
#include "tasks/jsonl_task.h"
#include "tasks/math_task.h"
#include "tasks/multiple_choice_task.h"
#include "tasks/task_factory.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using Json = nlohmann::json;

Question Read(const FileTask& task, const std::string& line) {
  absl::StatusOr<Question> q = task.FromJson(Json::parse(line));
  EXPECT_TRUE(q.ok()) << q.status();
  return q.ok() ? *q : Question{};
}

std::string ReadError(const FileTask& task, const std::string& line) {
  absl::StatusOr<Question> q = task.FromJson(Json::parse(line));
  EXPECT_FALSE(q.ok()) << line;
  return std::string(q.status().message());
}

constexpr char kGsm8kLine[] =
    R"({"question": "Ann has 3 boxes of 4 pens. She gives away 5 pens. How many pens are left?",)"
    R"( "answer": "She had 3 * 4 = <<3*4=12>>12 pens.\n\nShe has 12 - 5 = <<12-5=7>>7 left.\n#### 7"})";

TEST(MathTaskTest, ReadsGsm8kLinesIntoQuestionRationaleAndAnswer) {
  MathTask task;
  const Question q = Read(task, kGsm8kLine);
  EXPECT_EQ(q.answer, "7");
  // A blank line would end a completion: the rationale keeps its lines without it.
  EXPECT_EQ(q.rationale, "She had 3 * 4 = <<3*4=12>>12 pens.\nShe has 12 - 5 = <<12-5=7>>7 left.");
  EXPECT_EQ(q.bucket, "all");
  EXPECT_EQ(task.Prompt(q),
            "Q: Ann has 3 boxes of 4 pens. She gives away 5 pens. How many pens are left?\nA:");
  // The paper's GSM8K hint: the answer in parentheses after the question.
  EXPECT_EQ(task.HintedPrompt(q),
            "Q: Ann has 3 boxes of 4 pens. She gives away 5 pens. How many pens are left? (7)\nA:");
  absl::StatusOr<std::string> reference = task.ReferenceCompletion(q);
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(*reference, " She had 3 * 4 = <<3*4=12>>12 pens.\nShe has 12 - 5 = <<12-5=7>>7 left.\n#### 7\n\n");
  EXPECT_TRUE(task.Verify(q, *reference));
  EXPECT_EQ(Read(task, R"({"question": "q", "answer": "#### 3", "level": 2})").bucket, "2");
}

TEST(MathTaskTest, TheLastStatedAnswerCountsAndIsComparedAsANumber) {
  MathTask task;
  Question q;
  q.answer = "1200";
  EXPECT_EQ(task.ExtractAnswer(" 10 * 120 = 1200\n#### 1,200\n\n"), "1,200");
  EXPECT_TRUE(task.Verify(q, " 10 * 120 = 1200\n#### 1,200\n\n"));
  EXPECT_TRUE(task.Verify(q, " So she earns $1,200. The answer is $1,200."));
  EXPECT_TRUE(task.Verify(q, " the answer is: 1200.0"));
  EXPECT_TRUE(task.Verify(q, " Hence \\boxed{1200}."));
  // Whichever way of stating comes last decides.
  EXPECT_FALSE(task.Verify(q, " The answer is 1200.\n#### 1300"));
  EXPECT_TRUE(task.Verify(q, "#### 1300\nNo: the answer is 1200."));
  EXPECT_FALSE(task.Verify(q, " 1200"));                      // no statement of the answer
  EXPECT_FALSE(task.Verify(q, "#### twelve hundred"));        // not a number
  EXPECT_FALSE(task.Verify(q, " \\boxed{1200"));              // never closed
  EXPECT_FALSE(task.Verify(q, "#### 12000"));
  // The right answer through false or garbled arithmetic is not believed.
  EXPECT_TRUE(task.Verify(q, " 10 * 120 = <<10*120=1200>>1200\n#### 1200"));
  EXPECT_FALSE(task.Verify(q, " 10 * 120 = <<10*120=1300>>1200\n#### 1200"));
  EXPECT_FALSE(task.Verify(q, " <<ten times=1200>> so\n#### 1200"));
  EXPECT_FALSE(task.Verify(q, " <<<748=7>>>1200\n#### 1200"));
  EXPECT_FALSE(task.Verify(q, " 10 * 120 = <<10*120=1200\n#### 1200"));
  Question fraction;
  fraction.answer = "0.75";
  EXPECT_TRUE(task.Verify(fraction, "#### 3/4"));
  Question negative;
  negative.answer = "-3";
  EXPECT_TRUE(task.Verify(negative, "#### -3"));
  EXPECT_FALSE(task.Verify(negative, "#### 3"));
}

TEST(MathTaskTest, MalformedLinesAreRefusedSayingWhy) {
  MathTask task;
  EXPECT_EQ(ReadError(task, R"({"question": "q", "answer": "7"})"),
            "\"answer\" has no \"#### N\" final answer (GSM8K's format: the steps, then \"#### 72\")");
  EXPECT_EQ(ReadError(task, R"({"question": "q", "answer": "#### seven"})"),
            "the final answer \"seven\" after \"####\" is not a number");
  EXPECT_EQ(ReadError(task, R"({"answer": "#### 7"})"), "missing \"question\"");
  EXPECT_EQ(ReadError(task, R"({"question": 7, "answer": "#### 7"})"), "\"question\" must be a string, not 7");
  EXPECT_EQ(ReadError(task, R"({"question": "q", "answer": "#### 7", "bucket": [1]})"),
            "\"bucket\" must be a short string or an integer, not [1]");
  EXPECT_EQ(ReadError(task, R"([1, 2])"),
            "expected an object like {\"question\": \"...\", \"answer\": \"... #### 72\"}");
}

constexpr char kCsqaLine[] =
    R"({"answerKey": "A", "id": "075e483d21c29a511267ef62bedc0461", "question": {"question_concept": "punishing",)"
    R"( "choices": [{"label": "A", "text": "ignore"}, {"label": "B", "text": "enforce"},)"
    R"( {"label": "C", "text": "authoritarian"}, {"label": "D", "text": "yell at"}, {"label": "E", "text": "avoid"}],)"
    R"( "stem": "The sanctions against the school were a punishing blow, and they seemed to what the efforts the school had made to change?"}})";

TEST(MultipleChoiceTaskTest, ThePapersPromptHintAndAnswerSentence) {
  MultipleChoiceTask task;
  Question q = Read(task, kCsqaLine);
  EXPECT_EQ(q.answer, "A");
  ASSERT_EQ(q.choices.size(), 5u);
  EXPECT_EQ(task.Prompt(q),
            "Q: The sanctions against the school were a punishing blow, and they seemed to what the "
            "efforts the school had made to change?\nAnswer Choices:\n(a) ignore\n(b) enforce\n"
            "(c) authoritarian\n(d) yell at\n(e) avoid\nA:");
  const std::string hinted = task.HintedPrompt(q);
  EXPECT_TRUE(absl::StrContains(hinted, "(a) ignore (CORRECT)\n(b) enforce\n")) << hinted;
  // No rationale in CommonsenseQA's own lines: no reference completion.
  EXPECT_FALSE(task.ReferenceCompletion(q).ok());
  q.rationale = "Sanctions that punish the school make light of its efforts.";
  absl::StatusOr<std::string> reference = task.ReferenceCompletion(q);
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(*reference,
            " Sanctions that punish the school make light of its efforts. Therefore, the answer is "
            "ignore (a).\n\n");
  EXPECT_TRUE(task.Verify(q, *reference));
  EXPECT_EQ(task.ExtractAnswer(" ... Therefore, the answer is enforce (b)."), "B");
  EXPECT_TRUE(task.Verify(q, " x. So the answer is IGNORE (A)."));
  EXPECT_FALSE(task.Verify(q, " Therefore, the answer is enforce (b)."));
  EXPECT_FALSE(task.Verify(q, " (a) is tempting. I am not sure."));
  // Copying the hint's mark never verifies: the hint must not reach training text.
  EXPECT_FALSE(task.Verify(q, " (a) ignore (CORRECT). Therefore, the answer is ignore (a)."));
}

TEST(MultipleChoiceTaskTest, MalformedLinesAreRefusedSayingWhy) {
  MultipleChoiceTask task;
  EXPECT_EQ(ReadError(task, R"({"question": {"stem": "s", "choices": [{"label": "A", "text": "x"},)"
                            R"( {"label": "B", "text": "y"}]}, "answerKey": "C"})"),
            "\"answerKey\" \"C\" is not one of the choices' labels");
  EXPECT_EQ(ReadError(task, R"({"question": {"stem": "s", "choices": [{"label": "A", "text": "x"},)"
                            R"( {"label": "a", "text": "y"}]}, "answerKey": "A"})"),
            "\"question.choices[1].label\" A appears twice");
  EXPECT_EQ(ReadError(task, R"({"question": {"stem": "s", "choices": [{"label": "AB", "text": "x"},)"
                            R"( {"label": "B", "text": "y"}]}, "answerKey": "B"})"),
            "\"question.choices[0].label\" must be one letter, not \"AB\"");
  EXPECT_EQ(ReadError(task, R"({"question": {"stem": "s", "choices": [{"label": "A", "text": "x"}]}, "answerKey": "A"})"),
            "\"question.choices\" must be a list of 2-26 choices");
  EXPECT_EQ(ReadError(task, R"({"question": {"choices": []}, "answerKey": "A"})"), "question.missing \"stem\"");
}

std::unique_ptr<JsonlTask> Jsonl(const std::string& yaml_like_prompt, star::v1::JsonlFormat::Compare compare,
                                 const std::string& pattern = "") {
  star::v1::JsonlFormat format;
  format.set_prompt_template(yaml_like_prompt);
  format.set_hinted_prompt_template("Problem: {problem}\nHint: {answer}\nSolution:");
  format.set_answer_field("solution");
  format.set_rationale_field("work");
  format.set_answer_pattern(pattern);
  format.set_compare(compare);
  absl::StatusOr<std::unique_ptr<JsonlTask>> task = JsonlTask::Create(format);
  EXPECT_TRUE(task.ok()) << task.status();
  return task.ok() ? *std::move(task) : nullptr;
}

TEST(JsonlTaskTest, TemplatesPatternAndComparisonModes) {
  std::unique_ptr<JsonlTask> task = Jsonl("Problem: {problem} {{x}}\nSolution:", star::v1::JsonlFormat::NUMERIC);
  ASSERT_NE(task, nullptr);
  const Question q = Read(*task, R"({"problem": "2 dozen eggs?", "solution": 24, "work": "12 * 2 = 24", "level": "easy"})");
  EXPECT_EQ(q.answer, "24");
  EXPECT_EQ(q.bucket, "easy");
  EXPECT_EQ(task->Prompt(q), "Problem: 2 dozen eggs? {x}\nSolution:");
  EXPECT_EQ(task->HintedPrompt(q), "Problem: 2 dozen eggs?\nHint: 24\nSolution:");
  absl::StatusOr<std::string> reference = task->ReferenceCompletion(q);
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(*reference, " 12 * 2 = 24\nThe answer is 24.\n\n");
  EXPECT_TRUE(task->Verify(q, *reference));
  EXPECT_TRUE(task->Verify(q, " The answer is 7.\nNo, the answer is 24.0"));
  EXPECT_FALSE(task->Verify(q, " The answer is 24.\nNo, the answer is 7."));

  std::unique_ptr<JsonlTask> exact = Jsonl("{problem}", star::v1::JsonlFormat::EXACT, R"(=> (\w+))");
  std::unique_ptr<JsonlTask> folded = Jsonl("{problem}", star::v1::JsonlFormat::CASE_INSENSITIVE, R"(=> (\w+))");
  const Question word = Read(*exact, R"({"problem": "p", "solution": "Paris"})");
  EXPECT_TRUE(exact->Verify(word, "... => Paris"));
  EXPECT_FALSE(exact->Verify(word, "... => paris"));
  EXPECT_TRUE(folded->Verify(word, "... => paris"));
  EXPECT_FALSE(folded->Verify(word, "... Paris"));
}

TEST(JsonlTaskTest, AMalformedFormatIsRefusedNamingItsField) {
  const auto error = [](auto edit) {
    star::v1::JsonlFormat format;
    format.set_prompt_template("Q: {question}\nA:");
    edit(format);
    absl::StatusOr<std::unique_ptr<JsonlTask>> task = JsonlTask::Create(format);
    EXPECT_FALSE(task.ok());
    return std::string(task.status().message());
  };
  EXPECT_EQ(error([](auto& f) { f.clear_prompt_template(); }), "task.jsonl.format.prompt_template: is required");
  EXPECT_EQ(error([](auto& f) { f.set_prompt_template("Q: {question\nA:"); }),
            "task.jsonl.format.prompt_template: the '{' at offset 3 is never closed");
  EXPECT_EQ(error([](auto& f) { f.set_prompt_template("Q: {} A:"); }),
            "task.jsonl.format.prompt_template: the '{' at offset 3 names no field");
  EXPECT_EQ(error([](auto& f) { f.set_prompt_template("Q: } A:"); }),
            "task.jsonl.format.prompt_template: a lone '}' at offset 3 (write '}}')");
  EXPECT_EQ(error([](auto& f) { f.set_prompt_template("Q: {question} ({answer})"); }),
            "task.jsonl.format.prompt_template: shows the answer ({answer}); only the hinted prompt may");
  EXPECT_EQ(error([](auto& f) { f.set_completion_template("{question} {answer}"); }),
            "task.jsonl.format.completion_template: may name only {rationale} and {answer}, not {question}");
  EXPECT_EQ(error([](auto& f) { f.set_answer_pattern("(unclosed"); }),
            "task.jsonl.format.answer_pattern: is not RE2: missing ): (unclosed");
  EXPECT_EQ(error([](auto& f) { f.set_answer_pattern("(a)(b)"); }),
            "task.jsonl.format.answer_pattern: must have exactly one capturing group (the answer), not 2");
}

TEST(JsonlTaskTest, ALineWithoutAFieldItsPromptShowsIsRefused) {
  star::v1::JsonlFormat format;
  format.set_prompt_template("Q: {question}\nA:");
  std::unique_ptr<JsonlTask> task = *JsonlTask::Create(format);
  EXPECT_EQ(ReadError(*task, R"({"answer": "x"})"), "missing \"question\", which the prompt templates show");
  EXPECT_EQ(ReadError(*task, R"({"question": "q"})"),
            "missing the answer field \"answer\" (a string or a number)");
}

// A suite over files in a temporary folder.
struct SuiteFiles {
  testing::TempDir dir;
  star::v1::JobSpec spec;
  SuiteFiles() {
    spec.set_seed(1);
    star::v1::FileTaskSpec& math = *spec.mutable_task()->mutable_math();
    math.set_train_file(dir.Write("train.jsonl",
                                  std::string(kGsm8kLine) + "\n\n" +
                                      R"({"question": "What is 2 + 2?", "answer": "2 + 2 = 4\n#### 4", "level": 1})" "\n" +
                                      R"({"question": "What is 9 - 1?", "answer": "#### 8"})" "\n"));
    math.set_eval_file(dir.Write("eval.jsonl", R"({"question": "What is 3 + 3?", "answer": "3 + 3 = 6\n#### 6"})" "\n"));
  }
  std::unique_ptr<TaskSuite> Load(const std::string& job_dir = "") {
    absl::StatusOr<std::unique_ptr<TaskSuite>> suite = MakeTaskSuite(spec);
    EXPECT_TRUE(suite.ok()) << suite.status();
    absl::Status loaded = (*suite)->Load(job_dir);
    EXPECT_TRUE(loaded.ok()) << loaded;
    return loaded.ok() ? *std::move(suite) : nullptr;
  }
  absl::Status LoadError() {
    absl::StatusOr<std::unique_ptr<TaskSuite>> suite = MakeTaskSuite(spec);
    if (!suite.ok()) return suite.status();
    return (*suite)->Load("");
  }
};

TEST(FileTaskSuiteTest, ReadsThePoolAndTheHeldOutSplitWithIdsByLine) {
  SuiteFiles files;
  std::unique_ptr<TaskSuite> suite = files.Load();
  ASSERT_NE(suite, nullptr);
  ASSERT_EQ(suite->pool().size(), 3u);
  EXPECT_EQ(suite->pool()[0].id, 1u);
  EXPECT_EQ(suite->pool()[1].id, 3u);  // line 2 is blank
  EXPECT_EQ(suite->pool()[1].bucket, "1");
  ASSERT_EQ(suite->eval().size(), 1u);
  EXPECT_EQ(suite->eval()[0].id, kEvalIdOffset + 1);
  // Without few-shot files, a worker is asked the task's own prompt.
  EXPECT_EQ(suite->GenerationPrompt(suite->pool()[1]), "Q: What is 2 + 2?\nA:");
  files.spec.mutable_task()->mutable_math()->set_train_limit(2);
  EXPECT_EQ(files.Load()->pool().size(), 2u);
}

TEST(FileTaskSuiteTest, FewShotExemplarsComeBeforeEveryQuestionAndHintedOnesBeforeHintedQuestions) {
  SuiteFiles files;
  star::v1::FileTaskSpec& math = *files.spec.mutable_task()->mutable_math();
  math.set_few_shot_file(files.dir.Write("shots.jsonl", R"({"question": "What is 1 + 1?", "answer": "1 + 1 = 2\n#### 2"})" "\n"));
  std::unique_ptr<TaskSuite> suite = files.Load();
  ASSERT_NE(suite, nullptr);
  const Question& q = suite->pool()[1];
  EXPECT_EQ(suite->GenerationPrompt(q), "Q: What is 1 + 1?\nA: 1 + 1 = 2\n#### 2\n\nQ: What is 2 + 2?\nA:");
  // Without a hinted file, hinted questions follow the same exemplars.
  EXPECT_EQ(suite->HintedGenerationPrompt(q), "Q: What is 1 + 1?\nA: 1 + 1 = 2\n#### 2\n\nQ: What is 2 + 2? (4)\nA:");
  math.set_hinted_few_shot_file(files.dir.Write("hinted.jsonl", R"({"question": "What is 5 + 5?", "answer": "5 + 5 = 10\n#### 10"})" "\n"));
  suite = files.Load();
  EXPECT_EQ(suite->HintedGenerationPrompt(suite->pool()[1]),
            "Q: What is 5 + 5? (10)\nA: 5 + 5 = 10\n#### 10\n\nQ: What is 2 + 2? (4)\nA:");
  // An exemplar must show its work.
  math.set_few_shot_file(files.dir.Write("bare.jsonl", R"({"question": "q", "answer": "#### 2"})" "\n"));
  EXPECT_EQ(files.LoadError().message(),
            "task.math.few_shot_file: " + files.dir.File("bare.jsonl") + ":1: an exemplar needs its worked rationale");
}

TEST(FileTaskSuiteTest, SeedExamplesAreTheFirstWorkedRationalesOfThePool) {
  SuiteFiles files;
  files.spec.mutable_task()->mutable_math()->set_seed_examples(5);
  std::unique_ptr<TaskSuite> suite = files.Load();
  absl::StatusOr<std::vector<SeedExample>> seeds = suite->SeedExamples();
  ASSERT_TRUE(seeds.ok()) << seeds.status();
  // The third line has no worked rationale.
  ASSERT_EQ(seeds->size(), 2u);
  EXPECT_EQ((*seeds)[1].prompt, "Q: What is 2 + 2?\nA:");
  EXPECT_EQ((*seeds)[1].completion, " 2 + 2 = 4\n#### 4\n\n");
}

TEST(FileTaskSuiteTest, ErrorsNameTheFieldTheFileAndTheLine) {
  SuiteFiles files;
  star::v1::FileTaskSpec& math = *files.spec.mutable_task()->mutable_math();
  math.set_train_file(files.dir.Write("bad.jsonl", R"({"question": "q", "answer": "#### 1"})" "\n{oops\n"));
  EXPECT_EQ(files.LoadError().message(), "task.math.train_file: " + files.dir.File("bad.jsonl") + ":2: invalid JSON");
  math.set_train_file(files.dir.Write("empty.jsonl", "\n\n"));
  EXPECT_EQ(files.LoadError().message(), "task.math.train_file: " + files.dir.File("empty.jsonl") + ": holds no questions");
  math.set_train_file(files.dir.File("missing.jsonl"));
  EXPECT_EQ(files.LoadError().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(files.LoadError().message(), "task.math.train_file: ")) << files.LoadError();
}

TEST(FileTaskSuiteTest, AJobReadsTheCopiesItKeptOfItsFiles) {
  SuiteFiles files;
  const std::string job_dir = files.dir.File("jobs/j-1");
  std::unique_ptr<TaskSuite> first = files.Load(job_dir);
  files.dir.Write("train.jsonl", R"({"question": "changed", "answer": "#### 1"})" "\n");
  std::unique_ptr<TaskSuite> resumed = files.Load(job_dir);
  ASSERT_EQ(resumed->pool().size(), 3u);
  EXPECT_EQ(resumed->pool()[2].text, first->pool()[2].text);
  EXPECT_EQ(files.Load()->pool().size(), 1u);  // the file itself, without a job folder
}

TEST(TaskSpecTest, ValidationNamesTheField) {
  star::v1::JobSpec spec;
  EXPECT_EQ(ValidateTaskSpec(spec).message(),
            "task: must name a task (task.addition, task.math, task.multiple_choice or task.jsonl)");
  spec.mutable_task()->mutable_multiple_choice()->set_train_file("t.jsonl");
  EXPECT_EQ(ValidateTaskSpec(spec).message(),
            "task.multiple_choice.eval_file: is required (the held-out questions, JSON Lines)");
  spec.mutable_task()->mutable_multiple_choice()->set_eval_file("e.jsonl");
  EXPECT_TRUE(ValidateTaskSpec(spec).ok());
  spec.mutable_model()->set_init_config("config.json");
  EXPECT_TRUE(absl::StartsWith(ValidateTaskSpec(spec).message(), "task.multiple_choice.seed_examples: must be at least 1"))
      << ValidateTaskSpec(spec);
  spec.mutable_task()->mutable_multiple_choice()->set_seed_examples(10);
  spec.mutable_task()->mutable_multiple_choice()->mutable_format()->set_prompt_template("{q}");
  EXPECT_EQ(ValidateTaskSpec(spec).message(), "task.multiple_choice.format: only the jsonl task has a format");
  star::v1::FileTaskSpec jsonl = spec.task().multiple_choice();
  *spec.mutable_task()->mutable_jsonl() = jsonl;
  spec.mutable_filter()->set_rationalization(true);
  EXPECT_EQ(ValidateTaskSpec(spec).message(),
            "task.jsonl.format.hinted_prompt_template: is required with filter.rationalization (the "
            "prompt that shows {answer} as a hint)");
  spec.mutable_task()->mutable_jsonl()->mutable_format()->set_hinted_prompt_template("{q} ({answer})");
  EXPECT_TRUE(ValidateTaskSpec(spec).ok()) << ValidateTaskSpec(spec);
}

TEST(TaskFactoryTest, WorkersMakeEveryTaskFromTheSpecAShardCarries) {
  star::v1::TaskSpec spec;
  spec.mutable_math();
  EXPECT_NE(dynamic_cast<MathTask*>(MakeTask(spec)->get()), nullptr);
  spec.mutable_multiple_choice();
  EXPECT_NE(dynamic_cast<MultipleChoiceTask*>(MakeTask(spec)->get()), nullptr);
  spec.mutable_jsonl()->mutable_format()->set_prompt_template("{q}");
  EXPECT_NE(dynamic_cast<JsonlTask*>(MakeTask(spec)->get()), nullptr);
  spec.mutable_jsonl()->mutable_format()->set_answer_pattern("(");
  EXPECT_FALSE(MakeTask(spec).ok());
  EXPECT_FALSE(MakeTask(star::v1::TaskSpec()).ok());
}

}  // namespace
}  // namespace star
