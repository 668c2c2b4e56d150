#ifndef STAR_TESTS_TEST_ENVIRONMENT_H_
#define STAR_TESTS_TEST_ENVIRONMENT_H_

// What the multi-process tests need from their surroundings: where the binaries are (CTest sets
// STAR_BIN_DIR), a fresh temporary folder per test, a way to start the coordinator on a
// port chosen by the OS and learn that port, and a plain HTTP client for /metrics.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "process/child_process.h"
#include "service/channel_security.h"

namespace star::testing {

// $STAR_BIN_DIR/NAME.
std::string BinaryPath(const std::string& name);

// A new empty folder under $TMPDIR (or /tmp), removed with its contents at destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes `text` into the file `name` here and returns its path.
  std::string Write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

// "--data-root DIR" flags for a daemon of a test: `dir` (models, question files, state) and the
// source tree (the examples' config and tokenizer).
std::vector<std::string> DataRootFlags(const TempDir& dir);

// A job file's text, job `name`, whose base model is an empty folder `dir`/empty-model (created;
// under the data roots of DataRootFlags): it is accepted, and fails as soon as it runs (no
// config.json to load).
std::string JobWithAnEmptyModel(const TempDir& dir, const std::string& name);

// Whether this machine has an NVIDIA GPU (its driver's control device exists): tests whose
// expectations differ on a GPU machine ("--device auto" choosing the CPU) check only without.
bool MachineHasGpu();

// The whole content of a file ("" if it cannot be read).
std::string ReadFile(const std::string& path);

// Runs `argv` to completion (at most `timeout`) with stdout and stderr in a file of `dir`.
// Returns (exit status, output); the status is -1 when it could not start or timed out.
std::pair<int, std::string> RunCommand(const std::vector<std::string>& argv, const TempDir& dir,
                                       absl::Duration timeout = absl::Seconds(120));

// Writes a randomly initialised model of examples/tiny-char-llama into dir/NAME with
// `star init-model` and returns its path.
absl::StatusOr<std::string> InitExampleModel(const TempDir& dir, const std::string& name,
                                             int seed = 0);

// Waits for `process` to write a port number (and a newline) into `path`, as --port-file and
// --metrics-port-file do. kInternal with the log when the process exits first;
// kDeadlineExceeded when `deadline` passes.
absl::StatusOr<int> WaitForPortFile(const std::string& path, ChildProcess& process,
                                    const std::string& log_path, absl::Time deadline);

struct HttpResponse {
  int status = 0;
  // Header names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;
};

// One HTTP/1.1 request to 127.0.0.1:`port` ("Connection: close"), the response read to its end.
// kUnavailable when nothing answers; kDeadlineExceeded after `timeout`; kDataLoss for a
// response that is not HTTP.
absl::StatusOr<HttpResponse> HttpRequest(int port, const std::string& method,
                                         const std::string& path,
                                         absl::Duration timeout = absl::Seconds(10));

// The absolute path of `program` found on $PATH, or "" when it is not there.
std::string FindOnPath(const std::string& program);

// True when the environment variable CI is set to anything but "", "0" or "false". A tool a
// test needs (promtool, kubectl, ...) that is missing skips the test on a developer's machine
// but fails it under CI, where a skip would hide a check that never ran.
bool InCi();

// In a test body or SetUp(): GTEST_SKIP() with `message`, or a fatal failure under CI (InCi()).
#define STAR_SKIP_FOR_MISSING_TOOL(message)                                     \
  do {                                                                          \
    if (::star::testing::InCi()) {                                              \
      GTEST_FAIL() << message << " (CI is set: a missing tool fails the test)"; \
    }                                                                           \
    GTEST_SKIP() << message;                                                    \
  } while (false)

// A coordinator started on 127.0.0.1 with port 0, serving (health SERVING) when returned.
struct RunningCoordinator {
  ChildProcess process;
  std::string address;
  std::string log_path;
};
// `extra_args` are appended to its command line; `security` is what the health checks that
// wait for it use (TLS credentials when `extra_args` turn TLS on).
absl::StatusOr<RunningCoordinator> StartCoordinator(
    const TempDir& dir, absl::Duration timeout = absl::Seconds(30),
    const std::vector<std::string>& extra_args = {},
    const ClientSecurity& security = ClientSecurity());

// PEM files made with `openssl` under a TempDir: a CA, a server certificate it signed for
// 127.0.0.1 and localhost, and a client certificate it signed.
struct TestCertificates {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
};
// Writes them into dir/certs. kFailedPrecondition when openssl is not on $PATH; kInternal
// with openssl's output when it fails.
absl::StatusOr<TestCertificates> MakeTestCertificates(const TempDir& dir);

}  // namespace star::testing

#endif  // STAR_TESTS_TEST_ENVIRONMENT_H_
