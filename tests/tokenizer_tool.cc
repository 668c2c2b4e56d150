// Test-only: runs star::Tokenizer over lines of text for tests/python/tokenizer_reference_test.py.
//
//   tokenizer_tool TOKENIZER_JSON INPUT_FILE [--add-special-tokens] [--skip-special-tokens]
//
// Each line of INPUT_FILE is a JSON string literal (so any text, newlines included, fits on one
// line) or a JSON array of token ids; blank lines are skipped. For each, prints one JSON object
// on one line:
//
//   {"ids":[...],"decoded":"..."}
//
// where, for a string, ids = Encode(text, add_special_tokens) and, for an array, ids are the
// array's; decoded = Decode(ids, skip_special_tokens). Both flags default to false. On an error
// prints a message naming the file to stderr and exits 1 (2 for bad usage).

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "model/tokenizer.h"
#include "nlohmann/json.hpp"

namespace {

int Fail(const std::string& message) {
  std::cerr << "tokenizer_tool: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  bool add_special_tokens = false;
  bool skip_special_tokens = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--add-special-tokens") {
      add_special_tokens = true;
    } else if (arg == "--skip-special-tokens") {
      skip_special_tokens = true;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) {
    std::cerr << "usage: tokenizer_tool TOKENIZER_JSON INPUT_FILE [--add-special-tokens] "
                 "[--skip-special-tokens]\n";
    return 2;
  }
  const std::string& tokenizer_path = positional[0];
  const std::string& input_path = positional[1];

  absl::StatusOr<star::Tokenizer> tokenizer = star::Tokenizer::FromFile(tokenizer_path);
  if (!tokenizer.ok()) return Fail(std::string(tokenizer.status().message()));

  std::ifstream input(input_path, std::ios::binary);
  if (!input) return Fail(absl::StrCat(input_path, ": cannot open"));
  std::string line;
  int64_t line_number = 0;
  while (std::getline(input, line)) {
    ++line_number;
    if (line.empty()) continue;
    const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::vector<int32_t> ids;
    if (!parsed.is_discarded() && parsed.is_string()) {
      ids = tokenizer->Encode(parsed.get_ref<const std::string&>(), add_special_tokens);
    } else if (!parsed.is_discarded() && parsed.is_array()) {
      for (const nlohmann::json& id : parsed) {
        if (!id.is_number_integer()) {
          return Fail(absl::StrCat(input_path, ":", line_number, ": ids must be integers"));
        }
        ids.push_back(id.get<int32_t>());
      }
    } else {
      return Fail(absl::StrCat(input_path, ":", line_number,
                               ": not a JSON string literal or array of ids"));
    }
    absl::StatusOr<std::string> decoded = tokenizer->Decode(ids, skip_special_tokens);
    if (!decoded.ok()) {
      return Fail(absl::StrCat(input_path, ":", line_number, ": ", decoded.status().message()));
    }
    nlohmann::ordered_json result = nlohmann::ordered_json::object();
    result["ids"] = ids;
    result["decoded"] = *decoded;
    // ASCII output, so that line separators such as U+2028 stay escaped; `replace` keeps
    // dump() from throwing (Decode() only returns valid UTF-8).
    std::cout << result.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace)
              << "\n";
  }
  if (input.bad()) return Fail(absl::StrCat(input_path, ": cannot read"));
  std::cout.flush();
  return std::cout ? 0 : Fail("cannot write to stdout");
}
