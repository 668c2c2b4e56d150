#include "worker/shard_processor.h"

#include <map>
#include <set>

#include "gtest/gtest.h"
#include "tasks/addition_task.h"

namespace star {
namespace {

class ShardProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    questions_ = {AdditionTask::MakeQuestion(10, 12, 34, 2), AdditionTask::MakeQuestion(11, 5, 5, 1),
                  AdditionTask::MakeQuestion(12, 99, 11, 2)};
  }

  star::v1::Shard MakeShard(star::v1::ShardKind kind, int samples = 1, float temperature = 0) {
    star::v1::Shard shard;
    shard.set_shard_id("s-1");
    shard.set_kind(kind);
    shard.mutable_generation()->set_samples_per_question(samples);
    shard.mutable_generation()->set_temperature(temperature);
    shard.mutable_generation()->set_max_new_tokens(100);
    for (const Question& q : questions_) {
      star::v1::ShardQuestion* sq = shard.add_questions();
      sq->set_question_id(q.id);
      sq->set_prompt(task_.Prompt(q));
      sq->set_hinted_prompt(task_.HintedPrompt(q));
      sq->set_gold_answer(q.answer);
      sq->set_bucket(q.bucket);
    }
    return shard;
  }

  // A scripted model: right answers for the prompts in `right`, a wrong one for the rest.
  CompletionSource Scripted(std::set<std::string> right) {
    return [this, right](const std::vector<std::string>& prompts, const SamplingOptions& options)
               -> absl::StatusOr<std::vector<Completion>> {
      calls_.push_back(prompts);
      options_.push_back(options);
      std::vector<Completion> out;
      for (const std::string& p : prompts) {
        Completion c;
        c.text = "<scratch>\n</scratch>\n0\n\n";
        for (const Question& q : questions_) {
          if (right.contains(p) && (p == task_.Prompt(q) || p == task_.HintedPrompt(q))) {
            c.text = *AdditionTask().ReferenceCompletion(q);
          }
        }
        c.tokens.assign(c.text.size(), 7);
        out.push_back(c);
      }
      return out;
    };
  }

  AdditionTask task_;
  std::vector<Question> questions_;
  std::vector<std::vector<std::string>> calls_;
  std::vector<SamplingOptions> options_;
};

TEST_F(ShardProcessorTest, WrongAnswersAreRationalizedWithTheHint) {
  // Question 10 is answered directly, 11 only with its hint, 12 not at all.
  CompletionSource model =
      Scripted({task_.Prompt(questions_[0]), task_.HintedPrompt(questions_[1])});
  absl::StatusOr<ShardOutcome> out =
      ProcessShard(MakeShard(star::v1::SHARD_KIND_GENERATE), task_, true, model);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->direct_correct, 1);
  EXPECT_EQ(out->rationalized_correct, 1);
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(calls_[1], (std::vector<std::string>{task_.HintedPrompt(questions_[1]),
                                                 task_.HintedPrompt(questions_[2])}));
  const auto& results = out->request.results();
  ASSERT_EQ(results.size(), 3);
  EXPECT_EQ(results[0].question_id(), 10u);
  EXPECT_EQ(results[0].samples_size(), 1);
  ASSERT_EQ(results[1].samples_size(), 2);
  EXPECT_FALSE(results[1].samples(0).rationalized());
  EXPECT_TRUE(results[1].samples(1).rationalized());
  EXPECT_TRUE(task_.Verify(questions_[1], results[1].samples(1).completion()));
  EXPECT_EQ(out->request.shard_id(), "s-1");
  EXPECT_GT(out->generated_tokens, 0u);
  EXPECT_EQ(options_[0].stop_strings, std::vector<std::string>{"\n\n"});
}

TEST_F(ShardProcessorTest, WithoutRationalizationNoHintIsShown) {
  absl::StatusOr<ShardOutcome> out = ProcessShard(MakeShard(star::v1::SHARD_KIND_GENERATE), task_,
                                                  false, Scripted({}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(calls_.size(), 1u);
  EXPECT_EQ(out->rationalized_correct, 0);
  for (const auto& r : out->request.results()) EXPECT_EQ(r.samples_size(), 1);
}

TEST_F(ShardProcessorTest, EvaluationIsGreedyOneSampleAndNeverHinted) {
  absl::StatusOr<ShardOutcome> out =
      ProcessShard(MakeShard(star::v1::SHARD_KIND_EVALUATE, 4, 0.7f), task_, true, Scripted({}));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].size(), 3u);
  EXPECT_EQ(options_[0].temperature, 0.0);
  for (const std::string& p : calls_[0]) EXPECT_EQ(p.find("Hint:"), std::string::npos);
}

TEST_F(ShardProcessorTest, SeveralSamplesPerQuestionAtATemperature) {
  absl::StatusOr<ShardOutcome> out = ProcessShard(MakeShard(star::v1::SHARD_KIND_GENERATE, 3, 0.7f),
                                                  task_, false, Scripted({}));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(calls_[0].size(), 9u);
  EXPECT_FLOAT_EQ(options_[0].temperature, 0.7f);
  for (const auto& r : out->request.results()) EXPECT_EQ(r.samples_size(), 3);
}

TEST_F(ShardProcessorTest, AGreedySampleComesFirstWhenAsked) {
  star::v1::Shard shard = MakeShard(star::v1::SHARD_KIND_GENERATE, 2, 0.7f);
  shard.mutable_generation()->set_add_greedy_sample(true);
  // Question 11 is answered only with its hint: the hinted pass is greedy + sampled too.
  absl::StatusOr<ShardOutcome> out =
      ProcessShard(shard, task_, true, Scripted({task_.HintedPrompt(questions_[1])}));
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(calls_.size(), 4u);
  EXPECT_EQ(calls_[0].size(), 3u);  // greedy, one per question
  EXPECT_EQ(options_[0].temperature, 0.0);
  EXPECT_EQ(calls_[1].size(), 6u);  // two samples per question
  EXPECT_FLOAT_EQ(options_[1].temperature, 0.7f);
  EXPECT_EQ(calls_[2].size(), 3u);  // hinted greedy for the three wrong questions
  EXPECT_EQ(options_[2].temperature, 0.0);
  EXPECT_EQ(calls_[3].size(), 6u);
  EXPECT_EQ(out->rationalized_correct, 1);
  for (const auto& r : out->request.results()) EXPECT_EQ(r.samples_size(), 6) << r.question_id();
  // Evaluation stays one greedy sample.
  star::v1::Shard eval = MakeShard(star::v1::SHARD_KIND_EVALUATE, 2, 0.7f);
  eval.mutable_generation()->set_add_greedy_sample(true);
  calls_.clear();
  ASSERT_TRUE(ProcessShard(eval, task_, true, Scripted({})).ok());
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].size(), 3u);
}

TEST_F(ShardProcessorTest, GeneratorFailuresAndEmptyShardsAreReported) {
  CompletionSource failing = [](const std::vector<std::string>&, const SamplingOptions&)
      -> absl::StatusOr<std::vector<Completion>> { return absl::InternalError("out of memory"); };
  EXPECT_EQ(ProcessShard(MakeShard(star::v1::SHARD_KIND_GENERATE), task_, true, failing)
                .status()
                .message(),
            "out of memory");
  CompletionSource short_answer = [](const std::vector<std::string>&, const SamplingOptions&)
      -> absl::StatusOr<std::vector<Completion>> { return std::vector<Completion>(1); };
  EXPECT_EQ(ProcessShard(MakeShard(star::v1::SHARD_KIND_GENERATE), task_, true, short_answer)
                .status()
                .code(),
            absl::StatusCode::kInternal);
  star::v1::Shard empty;
  empty.set_shard_id("s-empty");
  EXPECT_EQ(ProcessShard(empty, task_, true, Scripted({})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace star
