#ifndef STAR_LOG_LOG_H_
#define STAR_LOG_LOG_H_

// Timestamped logging to stderr, one line per message:
//
//   2026-11-26T10:58:22.123Z I star-coordinator] listening on 127.0.0.1:40123
//
//   STAR_LOG(INFO) << "listening on " << address;
//
// Thread-safe: each message is written with a single write(2), so lines from several threads
// never interleave.

#include <sstream>
#include <string>
#include <string_view>

namespace star {

enum class LogSeverity { kInfo, kWarning, kError };

// Names the program in every later line. Call once in main() before other threads start.
void SetLogProgramName(std::string_view name);

// Writes one formatted line. Prefer STAR_LOG.
void LogLine(LogSeverity severity, std::string_view message);

// Collects one message and writes it when destroyed. Not for direct use.
class LogMessage {
 public:
  explicit LogMessage(LogSeverity severity) : severity_(severity) {}
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  ~LogMessage() { LogLine(severity_, stream_.str()); }

  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  std::ostringstream stream_;
};

}  // namespace star

#define STAR_LOG_SEVERITY_INFO ::star::LogSeverity::kInfo
#define STAR_LOG_SEVERITY_WARNING ::star::LogSeverity::kWarning
#define STAR_LOG_SEVERITY_ERROR ::star::LogSeverity::kError
#define STAR_LOG(severity) ::star::LogMessage(STAR_LOG_SEVERITY_##severity).stream()

#endif  // STAR_LOG_LOG_H_
