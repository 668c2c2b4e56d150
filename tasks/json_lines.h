#ifndef STAR_TASKS_JSON_LINES_H_
#define STAR_TASKS_JSON_LINES_H_

// The line walk every question file of the tasks shares.

#include <cstdint>
#include <functional>
#include <string_view>

#include "absl/status/status.h"

namespace star {

// Calls `line(number, text)` for every line of `text` that is not blank (numbers from 1, a
// final '\r' removed), stopping at the first error it returns, which is returned.
absl::Status ForEachNonBlankLine(std::string_view text,
                                 const std::function<absl::Status(uint64_t, std::string_view)>& line);

}  // namespace star

#endif  // STAR_TASKS_JSON_LINES_H_
