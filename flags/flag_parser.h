#ifndef STAR_FLAGS_FLAG_PARSER_H_
#define STAR_FLAGS_FLAG_PARSER_H_

// Command-line flags for the project's binaries.
//
// Flags are `--name VALUE` or `--name=VALUE`; booleans are `--name` or `--name=true|false`.
// Every flag is declared with a pointer to the variable it fills, a help line and, where it
// matters, a range. Unknown flags, missing values and values out of range are errors that name
// the flag. `--help` is always available.
//
//   FlagParser flags("star-coordinator", "Runs the STaR coordinator.");
//   flags.AddString("listen", &listen, "HOST:PORT to serve gRPC on");
//   flags.ParseOrExit(argc, argv);  // exit 0 after --help, exit 2 on a bad flag
//
// Not thread-safe; used once at program start.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace star {

class FlagParser {
 public:
  // `program` names the binary in usage and errors; `summary` is the first line of --help.
  FlagParser(std::string program, std::string summary);

  FlagParser(const FlagParser&) = delete;
  FlagParser& operator=(const FlagParser&) = delete;

  // Each Add* registers `--name`. The pointed-to variable holds the default and must outlive
  // Parse(). A required flag must be given on the command line.
  void AddString(std::string name, std::string* value, std::string help, bool required = false);
  // A network address "HOST:PORT" (HOST a name, IPv4 address or [IPv6] address; PORT 0-65535).
  void AddHostPort(std::string name, std::string* value, std::string help);
  void AddInt(std::string name, int64_t* value, std::string help, int64_t min, int64_t max);
  void AddDouble(std::string name, double* value, std::string help, double min, double max);
  void AddBool(std::string name, bool* value, std::string help);
  // A flag that may be given several times; each occurrence appends its value. Values given
  // on the command line replace the defaults the vector held.
  void AddStringList(std::string name, std::vector<std::string>* values, std::string help);
  // A named positional argument, filled in order of declaration.
  void AddPositional(std::string name, std::string* value, std::string help,
                     bool required = true);

  // Parses argv[first..argc). Returns kInvalidArgument naming the flag on an unknown flag, a
  // missing or malformed value, a value out of range, a missing required flag or a surplus
  // positional argument. Sets help_requested() and returns OK on `--help`/`-h`.
  absl::Status Parse(int argc, const char* const* argv, int first = 1);

  // Parse(), then: on --help prints Usage() to stdout and exits 0; on an error prints
  // "PROGRAM: ERROR (see --help)" on one line to stderr and exits 2.
  void ParseOrExit(int argc, const char* const* argv, int first = 1);

  bool help_requested() const { return help_requested_; }
  // Whether `--name` appeared on the command line (as opposed to keeping its default).
  bool WasSet(std::string_view name) const;

  std::string Usage() const;
  const std::string& program() const { return program_; }

  // For a value that parsed but that the program then finds unusable: prints
  // "PROGRAM: --NAME: MESSAGE" to stderr and exits 2, as a bad flag does.
  [[noreturn]] void ExitWithFlagError(absl::string_view name, absl::string_view message) const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string default_text;
    std::string value_hint;  // "STRING", "INT", ...; empty for booleans
    bool required = false;
    bool is_bool = false;
    bool set = false;
    std::function<absl::Status(std::string_view)> assign;
  };
  struct Positional {
    std::string name;
    std::string help;
    bool required = true;
    std::string* value = nullptr;
  };

  Flag* Find(std::string_view name);
  void Add(Flag flag);

  std::string program_;
  std::string summary_;
  std::vector<Flag> flags_;
  std::vector<Positional> positionals_;
  bool help_requested_ = false;
};

}  // namespace star

#endif  // STAR_FLAGS_FLAG_PARSER_H_
