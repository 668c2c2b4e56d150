#include "tasks/json_lines.h"

namespace star {

absl::Status ForEachNonBlankLine(std::string_view text,
                                 const std::function<absl::Status(uint64_t, std::string_view)>& line) {
  uint64_t number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view current = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (!current.empty() && current.back() == '\r') current.remove_suffix(1);
    if (current.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (absl::Status s = line(number, current); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace star
