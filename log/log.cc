#include "log/log.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

#include "absl/strings/str_format.h"

namespace star {
namespace {

// Set once before threads start (see SetLogProgramName), read-only afterwards.
std::string& ProgramName() {
  static std::string name = "star";
  return name;
}

char SeverityLetter(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kInfo:
      return 'I';
    case LogSeverity::kWarning:
      return 'W';
    case LogSeverity::kError:
      return 'E';
  }
  return '?';
}

}  // namespace

void SetLogProgramName(std::string_view name) { ProgramName() = std::string(name); }

void LogLine(LogSeverity severity, std::string_view message) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
      1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::string line = absl::StrFormat(
      "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %c %s] %s\n", utc.tm_year + 1900, utc.tm_mon + 1,
      utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis, SeverityLetter(severity),
      ProgramName(), message);
  // One write per line keeps concurrent messages whole; a short write to stderr is retried.
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) break;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace star
