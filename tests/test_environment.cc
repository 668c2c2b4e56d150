#include "tests/test_environment.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "service/health_client.h"

namespace star::testing {

std::string BinaryPath(const std::string& name) {
  const char* dir = std::getenv("STAR_BIN_DIR");
  return absl::StrCat(dir != nullptr ? dir : ".", "/", name);
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/star-test-XXXXXX");
  char* made = mkdtemp(templ.data());
  path_ = made != nullptr ? made : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::pair<int, std::string> RunCommand(const std::vector<std::string>& argv, const TempDir& dir,
                                       absl::Duration timeout) {
  std::string log = dir.File("command.log");
  std::error_code ec;
  std::filesystem::remove(log, ec);
  absl::StatusOr<ChildProcess> process = ChildProcess::Start(argv, log);
  if (!process.ok()) return {-1, std::string(process.status().message())};
  std::optional<int> status = process->Wait(timeout);
  return {status.value_or(-1), ReadFile(log)};
}

absl::StatusOr<std::string> InitExampleModel(const TempDir& dir, const std::string& name,
                                             int seed) {
  std::string model = dir.File(name);
  std::string examples = std::string(STAR_SOURCE_DIR) + "/examples/tiny-char-llama/";
  auto [status, output] =
      RunCommand({BinaryPath("star"), "init-model", "--config", examples + "config.json",
                  "--tokenizer", examples + "tokenizer.json", "--out", model, "--seed",
                  std::to_string(seed)},
                 dir);
  if (status != 0) return absl::InternalError(absl::StrCat("star init-model failed: ", output));
  return model;
}

absl::StatusOr<RunningCoordinator> StartCoordinator(const TempDir& dir, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  std::string port_file = dir.File("coordinator.port");
  std::string log_path = dir.File("coordinator.log");
  absl::StatusOr<ChildProcess> process = ChildProcess::Start(
      {BinaryPath("star-coordinator"), "--listen", "127.0.0.1:0", "--state-dir",
       dir.File("state"), "--port-file", port_file},
      log_path);
  if (!process.ok()) return process.status();
  int port = 0;
  absl::Duration pause = absl::Milliseconds(5);
  while (true) {
    std::string text = ReadFile(port_file);
    if (!text.empty() && absl::SimpleAtoi(text.substr(0, text.find('\n')), &port) && port > 0) {
      break;
    }
    if (std::optional<int> status = process->Poll()) {
      return absl::InternalError(absl::StrCat("coordinator exited with ", *status, ": ",
                                              ReadFile(log_path)));
    }
    if (absl::Now() > deadline) return absl::DeadlineExceededError("no port file");
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
  std::string address = absl::StrCat("127.0.0.1:", port);
  if (absl::Status s = WaitUntilServing(*MakeChannel(address), deadline); !s.ok()) return s;
  return RunningCoordinator{std::move(*process), address, log_path};
}

}  // namespace star::testing
