#ifndef STAR_TASKS_ADDITION_TASK_H_
#define STAR_TASKS_ADDITION_TASK_H_

// n-digit addition with a scratchpad. Both operands have the same number of digits; digits are
// space-separated. Two scratchpad formats (AdditionFormat):
//
// kScratchpad, the scratchpad of Nye et al. (2021) as STaR uses it. For 624 + 257:
//
//   Input:
//   6 2 4 + 2 5 7
//   Target:
//   <scratch>
//   6 2 4 + 2 5 7 , C: 0
//   6 2 + 2 5 , 1 C: 1
//   6 + 2 , 8 1 C: 0
//   , 8 8 1 C: 0
//   0 8 8 1
//   </scratch>
//   8 8 1
//
// Each line shows the digits still to be added, the result digits so far and the carry, as
// Nye et al. define it (the STaR paper's printed example shows only "2 + 5" on the second line;
// the rule it states, and this format, keep every remaining digit).
//
// kColumns, one line per column, least significant first: the column's two digits, the carry
// into it, and their sum (one or two digits):
//
//   <scratch>
//   4 + 7 + 0 = 1 1
//   2 + 5 + 1 = 8
//   6 + 2 + 0 = 8
//   </scratch>
//   8 8 1
//
// Every line has the same shape whatever the length, and a line needs only its own column's
// digits, so a small model trained from scratch extends it to longer sums far more readily
// than the paper's format, whose lines copy ever longer operand prefixes (docs/results.md).
//
// The prompt ends after "Target:\n"; the completion is the scratchpad, the answer line and a
// blank line that ends it. The hint for rationalization is the answer line, given after the
// question ("Hint: 8 8 1").
//
// kCompact, the kColumns procedure written for a character-level model, with no spaces, labels,
// tags or answer line (less than half the tokens of kColumns, so generation and training cost
// less than half as much):
//
//   624+257          <- the prompt: the question and a newline
//   4+7+0=11
//   2+5+1=8
//   6+2+0=8          <- then a blank line that ends the completion
//
// The answer is what the column lines derive: each sum's last digit, least significant first,
// and the carry out of the last column (881). A separate answer line would repeat those digits
// in reverse order, and that copy is the step a small model gets wrong most (docs/results.md).
// The hinted prompt adds the answer after the question ("624+257\nHint:881\n"). Questions and
// gold answers keep their spaced form ("6 2 4 + 2 5 7", "8 8 1"); only what the model reads and
// writes is compact, and ExtractAnswer returns the spaced form.
//
// kTagged, kCompact with every digit tagged by its column's letter, 'a' for the units, in the
// question and at the start of each column line:
//
//   c6b2a4+c2b5a7
//   a4+7+0=11
//   b2+5+1=8
//   c6+2+0=8
//
// A column line finds its digits by content (the digit after its letter on either side of
// the '+') rather than by counting positions from the end of an operand, which a small model
// learns for the lengths it has seen only. Lengths up to 26 digits.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "star/v1/job.pb.h"
#include "tasks/task.h"

namespace star {

enum class AdditionFormat { kScratchpad, kColumns, kCompact, kTagged };

class AdditionTask final : public Task {
 public:
  explicit AdditionTask(AdditionFormat format = AdditionFormat::kScratchpad, int min_digits = 1,
                        int max_digits = 18)
      : format_(format), min_digits_(min_digits), max_digits_(max_digits) {}

  // The task a job's spec describes (its format and trained lengths).
  static AdditionTask ForSpec(const star::v1::AdditionTaskSpec& spec);

  std::string Prompt(const Question& question) const override;
  std::string HintedPrompt(const Question& question) const override;
  // The line after the last "</scratch>". In the kColumns format a completion states an answer
  // only when its scratchpad is sound and derives that line (ColumnsAnswer): a rationale whose
  // answer line contradicts its own columns (as when a hint is copied) is not believed.
  std::optional<std::string> ExtractAnswer(const std::string& completion) const override;

  // The answer a kColumns scratchpad ("<scratch>\n" then one line per column, each ending in
  // a newline) derives, when every line is "a + b + c = s" with single digits, c the carry
  // from the line before (0 first) and s their sum; nullopt otherwise. It does not check which
  // operand digits a line took: that is what the final answer's comparison decides.
  static std::optional<std::string> ColumnsAnswer(absl::string_view scratchpad);
  // The spaced answer a kCompact completion derives: one or more column lines "a+b+c=s" (the
  // same rules as ColumnsAnswer), then the blank line; nullopt for anything else. `tagged` (kTagged): each column line starts with its
  // column's letter, 'a', 'b', ... in order.
  static std::optional<std::string> CompactAnswer(absl::string_view completion, bool tagged = false);
  std::string StopString() const override { return "\n\n"; }

  // The scratchpad completion (rationale, answer, terminator) for `question`: the seed stage's
  // training text. kInvalidArgument naming the question when its text is not "D .. D + D .. D"
  // with equally long operands.
  absl::StatusOr<std::string> ReferenceCompletion(const Question& question) const override;

  // Buckets are operand lengths ("3", shown "3d"); lengths min_digits..max_digits are trained.
  std::string BucketLabel(const std::string& bucket) const override { return bucket + "d"; }
  std::string BucketKind() const override { return "operand length"; }
  bool Trains(const std::string& bucket) const override;
  std::string TrainedLabel() const override;

  // A question for operands `a` and `b` (non-negative, `digits` digits each, leading zeros
  // allowed only for digits == 1).
  static Question MakeQuestion(uint64_t id, uint64_t a, uint64_t b, int digits);

  // `count` questions with operands of `digits` digits drawn from `seed` (first digit non-zero
  // for digits > 1); ids are first_id, first_id + 1, ...
  static std::vector<Question> Generate(int digits, int count, uint64_t seed, uint64_t first_id);

  AdditionFormat format() const { return format_; }

 private:
  // The question as the compact and tagged formats show it ("624+257", "c6b2a4+c2b5a7").
  std::string CompactQuestion(const Question& question) const;

  AdditionFormat format_;
  int min_digits_;
  int max_digits_;
};

// Space-separated digits of `value`, zero-padded to `digits` ("0 7" for 7 with 2 digits).
std::string SpacedDigits(uint64_t value, int digits);

}  // namespace star

#endif  // STAR_TASKS_ADDITION_TASK_H_
