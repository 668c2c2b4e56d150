#include "tasks/addition_task.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace star {
namespace {

TEST(AdditionTaskTest, ReferenceCompletionIsThePapersScratchpad) {
  Question q = AdditionTask::MakeQuestion(1, 624, 257, 3);
  EXPECT_EQ(q.text, "6 2 4 + 2 5 7");
  EXPECT_EQ(q.answer, "8 8 1");
  EXPECT_EQ(q.bucket, "3");
  absl::StatusOr<std::string> completion = AdditionTask().ReferenceCompletion(q);
  ASSERT_TRUE(completion.ok()) << completion.status();
  EXPECT_EQ(*completion,
            "<scratch>\n"
            "6 2 4 + 2 5 7 , C: 0\n"
            "6 2 + 2 5 , 1 C: 1\n"
            "6 + 2 , 8 1 C: 0\n"
            ", 8 8 1 C: 0\n"
            "0 8 8 1\n"
            "</scratch>\n"
            "8 8 1\n\n");
}

TEST(AdditionTaskTest, FinalCarryBecomesALeadingDigit) {
  Question q = AdditionTask::MakeQuestion(2, 95, 17, 2);
  EXPECT_EQ(q.answer, "1 1 2");
  absl::StatusOr<std::string> completion = AdditionTask().ReferenceCompletion(q);
  ASSERT_TRUE(completion.ok());
  EXPECT_EQ(*completion,
            "<scratch>\n9 5 + 1 7 , C: 0\n9 + 1 , 2 C: 1\n, 1 2 "
            "C: 1\n1 1 2\n</scratch>\n1 1 2\n\n");
  AdditionTask task;
  EXPECT_TRUE(task.Verify(q, *completion));
}

TEST(AdditionTaskTest, ColumnsFormatWritesOneLinePerColumnLeastSignificantFirst) {
  const AdditionTask task(AdditionFormat::kColumns);
  Question q = AdditionTask::MakeQuestion(5, 624, 257, 3);
  absl::StatusOr<std::string> completion = task.ReferenceCompletion(q);
  ASSERT_TRUE(completion.ok()) << completion.status();
  EXPECT_EQ(*completion,
            "<scratch>\n"
            "4 + 7 + 0 = 1 1\n"
            "2 + 5 + 1 = 8\n"
            "6 + 2 + 0 = 8\n"
            "</scratch>\n"
            "8 8 1\n\n");
  EXPECT_TRUE(task.Verify(q, *completion));
  // A final carry is the answer's leading digit.
  Question carry = AdditionTask::MakeQuestion(6, 95, 17, 2);
  EXPECT_EQ(*task.ReferenceCompletion(carry),
            "<scratch>\n5 + 7 + 0 = 1 2\n9 + 1 + 1 = 1 1\n</scratch>\n1 1 2\n\n");
  // The prompt and the hint do not depend on the format.
  EXPECT_EQ(task.HintedPrompt(q), AdditionTask().HintedPrompt(q));
}

TEST(AdditionTaskTest, ColumnsAnswerIsBelievedOnlyWhenTheScratchpadDerivesIt) {
  const AdditionTask task(AdditionFormat::kColumns);
  Question q = AdditionTask::MakeQuestion(7, 624, 257, 3);
  EXPECT_EQ(task.ExtractAnswer(*task.ReferenceCompletion(q)), "8 8 1");
  // The answer copied from a hint below columns that say otherwise.
  EXPECT_EQ(task.ExtractAnswer("<scratch>\n4 + 7 + 0 = 1 1\n2 + 5 + 1 = 9\n6 + 2 + 0 = 8\n"
                               "</scratch>\n8 8 1\n\n"),
            std::nullopt);
  EXPECT_FALSE(task.Verify(q,
                           "<scratch>\n4 + 7 + 0 = 1 1\n2 + 5 + 1 = 9\n6 + 2 + 0 = 8\n"
                           "</scratch>\n8 8 1\n\n"));
  // Wrong arithmetic in a line, a carry not taken over, a sum with a leading
  // zero, a line of another shape, an empty scratchpad.
  for (const char* scratch : {"4 + 7 + 0 = 1 2\n", "4 + 7 + 0 = 1 1\n2 + 5 + 0 = 7\n",
                              "2 + 5 + 0 = 0 7\n", "4+7+0=11\n", "4 + 7 + 0 = 1 1 1\n",
                              "4  + 7 + 0 = 11\n", "4 + 7 + 0 =  8\n", ""}) {
    EXPECT_EQ(AdditionTask::ColumnsAnswer(absl::StrCat("<scratch>\n", scratch)), std::nullopt)
        << scratch;
  }
  // Digits other than the question's are not the scratchpad's business: the
  // answer decides.
  EXPECT_EQ(AdditionTask::ColumnsAnswer("<scratch>\n9 + 9 + 0 = 1 8\n"), "1 8");
  EXPECT_FALSE(task.Verify(q, "<scratch>\n9 + 9 + 0 = 1 8\n</scratch>\n1 8\n\n"));
  // The paper's format believes the answer line as it stands.
  EXPECT_EQ(AdditionTask().ExtractAnswer("<scratch>\nwhatever\n</scratch>\n8 8 1\n\n"), "8 8 1");
}

TEST(AdditionTaskTest, ForSpecChoosesTheFormat) {
  star::v1::AdditionTaskSpec spec;
  EXPECT_EQ(AdditionTask::ForSpec(spec).format(), AdditionFormat::kScratchpad);
  spec.set_format(star::v1::AdditionTaskSpec::COLUMNS);
  EXPECT_EQ(AdditionTask::ForSpec(spec).format(), AdditionFormat::kColumns);
  spec.set_format(star::v1::AdditionTaskSpec::COMPACT);
  EXPECT_EQ(AdditionTask::ForSpec(spec).format(), AdditionFormat::kCompact);
  spec.set_format(star::v1::AdditionTaskSpec::TAGGED);
  EXPECT_EQ(AdditionTask::ForSpec(spec).format(), AdditionFormat::kTagged);
}

TEST(AdditionTaskTest, TaggedFormatLabelsEveryDigitWithItsColumn) {
  const AdditionTask task(AdditionFormat::kTagged);
  Question q = AdditionTask::MakeQuestion(1, 624, 257, 3);
  EXPECT_EQ(task.Prompt(q), "c6b2a4+c2b5a7\n");
  EXPECT_EQ(task.HintedPrompt(q), "c6b2a4+c2b5a7\nHint:881\n");
  EXPECT_EQ(*task.ReferenceCompletion(q), "a4+7+0=11\nb2+5+1=8\nc6+2+0=8\n\n");
  EXPECT_EQ(task.ExtractAnswer("a4+7+0=11\nb2+5+1=8\nc6+2+0=8\n\n"), "8 8 1");
  // Letters out of order, a missing letter, the untagged form.
  for (const char* bad :
       {"a4+7+0=11\nc2+5+1=8\nb6+2+0=8\n\n", "a4+7+0=11\n2+5+1=8\nc6+2+0=8\n\n",
        "4+7+0=11\n2+5+1=8\n6+2+0=8\n\n"}) {
    EXPECT_EQ(task.ExtractAnswer(bad), std::nullopt) << bad;
  }
  // A question that is not two operands is shown as it is, without spaces.
  EXPECT_EQ(task.Prompt(Question{.text = "1 2 + 3 + 4"}), "12+3+4\n");
}

TEST(AdditionTaskTest, CompactFormatWritesTheColumnsWithoutSpaces) {
  const AdditionTask task(AdditionFormat::kCompact);
  Question q = AdditionTask::MakeQuestion(1, 624, 257, 3);
  EXPECT_EQ(task.Prompt(q), "624+257\n");
  EXPECT_EQ(task.HintedPrompt(q), "624+257\nHint:881\n");
  EXPECT_EQ(*task.ReferenceCompletion(q), "4+7+0=11\n2+5+1=8\n6+2+0=8\n\n");
  EXPECT_EQ(task.ExtractAnswer("4+7+0=11\n2+5+1=8\n6+2+0=8\n\n"), "8 8 1");
  Question carries = AdditionTask::MakeQuestion(2, 99, 99, 2);
  EXPECT_EQ(*task.ReferenceCompletion(carries), "9+9+0=18\n9+9+1=19\n\n");
  EXPECT_EQ(task.ExtractAnswer("9+9+0=18\n9+9+1=19\n\n"), "1 9 8");
}

TEST(AdditionTaskTest, CompactFormatBelievesOnlyAnAnswerItsColumnsDerive) {
  const AdditionTask task(AdditionFormat::kCompact);
  Question q = AdditionTask::MakeQuestion(1, 624, 257, 3);
  EXPECT_TRUE(task.Verify(q, "4+7+0=11\n2+5+1=8\n6+2+0=8\n\n"));
  // A line whose sum is wrong (as when a hint's digit is written under the wrong column).
  EXPECT_FALSE(task.Verify(q, "4+7+0=11\n2+5+1=9\n6+2+0=8\n\n"));
  // Columns whose digits are wrong but consistent derive another answer: stated, not gold.
  EXPECT_EQ(task.ExtractAnswer("4+7+0=11\n2+6+1=9\n6+2+0=8\n\n"), "8 9 1");
  EXPECT_FALSE(task.Verify(q, "4+7+0=11\n2+6+1=9\n6+2+0=8\n\n"));
  // Each malformed piece in turn: a carry not taken over, a sum with a leading zero, an
  // unterminated completion, text after the end, an answer line (the format has none), no
  // column line, spaces.
  for (const char* bad :
       {"4+7+0=11\n2+5+0=7\n6+2+0=8\n\n", "1+2+0=03\n\n", "4+7+0=11\n2+5+1=8\n6+2+0=8\n",
        "4+7+0=11\n2+5+1=8\n6+2+0=8\n\nx", "4+7+0=11\n2+5+1=8\n6+2+0=8\n881\n\n", "\n\n",
        "4 + 7 + 0 = 1 1\n\n", ""}) {
    EXPECT_EQ(task.ExtractAnswer(bad), std::nullopt) << bad;
  }
}

TEST(AdditionTaskTest, EveryFormatsReferenceVerifiesAtEveryLength) {
  for (AdditionFormat format : {AdditionFormat::kScratchpad, AdditionFormat::kColumns,
                                AdditionFormat::kCompact, AdditionFormat::kTagged}) {
    const AdditionTask task(format);
    for (int digits = 1; digits <= 18; ++digits) {
      for (const Question& q : AdditionTask::Generate(digits, 20, digits, 0)) {
        absl::StatusOr<std::string> completion = task.ReferenceCompletion(q);
        ASSERT_TRUE(completion.ok()) << completion.status();
        EXPECT_TRUE(task.Verify(q, *completion)) << q.text << "\n" << *completion;
      }
    }
  }
}

TEST(AdditionTaskTest, PromptsAndHint) {
  AdditionTask task;
  Question q = AdditionTask::MakeQuestion(3, 12, 34, 2);
  EXPECT_EQ(task.Prompt(q), "Input:\n1 2 + 3 4\nTarget:\n");
  EXPECT_EQ(task.HintedPrompt(q), "Input:\n1 2 + 3 4\nHint: 4 6\nTarget:\n");
}

TEST(AdditionTaskTest, VerifierComparesTheFinalAnswerExactly) {
  AdditionTask task;
  Question q = AdditionTask::MakeQuestion(4, 12, 34, 2);
  EXPECT_TRUE(task.Verify(q, "<scratch>\nwhatever\n</scratch>\n4 6\n\n"));
  EXPECT_TRUE(task.Verify(q, "<scratch>\n</scratch>\n4 6"));
  EXPECT_FALSE(task.Verify(q, "<scratch>\n</scratch>\n4 7\n\n"));
  EXPECT_FALSE(task.Verify(q, "<scratch>\n</scratch>\n46\n\n"));
  EXPECT_FALSE(task.Verify(q, "<scratch>\n4 6\n"));  // never closed
  EXPECT_FALSE(task.Verify(q, ""));
  EXPECT_EQ(task.ExtractAnswer("<scratch>\n</scratch>\n\n"), std::nullopt);
}

TEST(AdditionTaskTest, GeneratedQuestionsHaveTheirLengthAndAreSeeded) {
  std::vector<Question> a = AdditionTask::Generate(4, 50, 9, 100);
  std::vector<Question> b = AdditionTask::Generate(4, 50, 9, 100);
  ASSERT_EQ(a.size(), 50u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, 100 + i);
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].text.size(), std::string("1 2 3 4 + 5 6 7 8").size()) << a[i].text;
    EXPECT_NE(a[i].text[0], '0');
    AdditionTask task;
    EXPECT_TRUE(task.Verify(a[i], *AdditionTask().ReferenceCompletion(a[i])));
  }
}

TEST(AdditionTaskTest, MalformedQuestionIsNamed) {
  Question q{.id = 7, .text = "1 2 + 3", .answer = "", .bucket = ""};
  absl::Status s = AdditionTask().ReferenceCompletion(q).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("question 7: '1 2 + 3'"), std::string::npos);
}

}  // namespace
}  // namespace star
