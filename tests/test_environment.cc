#include "tests/test_environment.h"

#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

std::string TempDir::Write(const std::string& name, const std::string& text) const {
  std::string path = File(name);
  std::ofstream(path) << text;
  return path;
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

absl::StatusOr<int> WaitForPortFile(const std::string& path, ChildProcess& process,
                                    const std::string& log_path, absl::Time deadline) {
  absl::Duration pause = absl::Milliseconds(5);
  while (true) {
    std::string text = ReadFile(path);
    int port = 0;
    // The file is renamed into place whole: a newline means it is complete.
    if (text.find('\n') != std::string::npos &&
        absl::SimpleAtoi(text.substr(0, text.find('\n')), &port) && port > 0) {
      return port;
    }
    if (std::optional<int> status = process.Poll()) {
      return absl::InternalError(absl::StrCat(process.name(), " exited with ", *status,
                                              " before writing ", path, ": ", ReadFile(log_path)));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no port in ", path, ": ", ReadFile(log_path)));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
}

absl::StatusOr<HttpResponse> HttpRequest(int port, const std::string& method,
                                         const std::string& path, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("nothing listens on 127.0.0.1:", port));
  }
  std::string request = absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                                     "\r\nConnection: close\r\n\r\n");
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return absl::UnavailableError("cannot send the request");
  }
  std::string raw;
  char buffer[16384];
  while (true) {
    int left_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p{fd, POLLIN, 0};
    if (left_ms <= 0 || ::poll(&p, 1, left_ms) <= 0) {
      ::close(fd);
      return absl::DeadlineExceededError(absl::StrCat(method, " ", path, ": no full response"));
    }
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t end = raw.find("\r\n\r\n");
  if (!raw.starts_with("HTTP/1.") || end == std::string::npos) {
    return absl::DataLossError(absl::StrCat("not an HTTP response: ", raw.substr(0, 200)));
  }
  HttpResponse response;
  std::vector<std::string> lines = absl::StrSplit(raw.substr(0, end), "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &response.status)) {
    return absl::DataLossError(absl::StrCat("bad status line: ", lines[0]));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  response.body = raw.substr(end + 4);
  return response;
}

std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> dirs =
      absl::StrSplit(path != nullptr ? path : "", ':', absl::SkipEmpty());
  for (const std::string& dir : dirs) {
    std::string candidate = absl::StrCat(dir, "/", program);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool InCi() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  const std::string value = ci;
  return !value.empty() && value != "0" && value != "false";
}

std::string JobWithAnEmptyModel(const TempDir& dir, const std::string& name) {
  std::filesystem::create_directories(dir.File("empty-model"));
  return absl::StrCat("name: ", name, "\n",
                      "task: {addition: {min_digits: 1, max_digits: 1, train_questions: 4}}\n",
                      "model: {base_checkpoint: ", dir.File("empty-model"), "}\n",
                      "iterations: 1\n");
}

bool MachineHasGpu() { return std::filesystem::exists("/dev/nvidiactl"); }

std::vector<std::string> DataRootFlags(const TempDir& dir) {
  return {"--data-root", dir.path(), "--data-root", STAR_SOURCE_DIR};
}

absl::StatusOr<RunningCoordinator> StartCoordinator(const TempDir& dir, absl::Duration timeout,
                                                   const std::vector<std::string>& extra_args,
                                                   const ClientSecurity& security) {
  absl::Time deadline = absl::Now() + timeout;
  std::string port_file = dir.File("coordinator.port");
  std::string log_path = dir.File("coordinator.log");
  std::vector<std::string> argv = {BinaryPath("star-coordinator"), "--listen", "127.0.0.1:0",
                                   "--state-dir", dir.File("state"), "--port-file", port_file};
  for (const std::string& flag : DataRootFlags(dir)) argv.push_back(flag);
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  absl::StatusOr<ChildProcess> process = ChildProcess::Start(argv, log_path);
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
  if (absl::Status s = WaitUntilServing(*MakeChannel(address, security), deadline); !s.ok()) {
    return s;
  }
  return RunningCoordinator{std::move(*process), address, log_path};
}

absl::StatusOr<TestCertificates> MakeTestCertificates(const TempDir& dir) {
  const std::string openssl = FindOnPath("openssl");
  if (openssl.empty()) return absl::FailedPreconditionError("openssl is not on $PATH");
  const std::string certs = dir.File("certs");
  std::filesystem::create_directories(certs);
  // P-256 keys: quick to make. Leaf certificates carry subjectAltName (gRPC checks the
  // address it dialled against it) and the extended key usage of their side.
  const std::string script = absl::StrCat(
      "set -e; cd '", certs, "'; O='", openssl, "'\n",
      "$O ecparam -name prime256v1 -genkey -noout -out ca.key\n",
      "$O req -x509 -new -key ca.key -out ca.crt -days 2 -subj /CN=star-test-ca "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign\n",
      "for who in server client; do\n",
      "  $O ecparam -name prime256v1 -genkey -noout -out $who.key\n",
      "  $O req -new -key $who.key -out $who.csr -subj /CN=star-test-$who\n",
      "done\n",
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' "
      "> server.ext\n",
      "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n",
      "for who in server client; do\n",
      "  $O x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile $who.ext -out $who.crt\n",
      "done\n");
  auto [status, output] = RunCommand({"/bin/sh", "-c", script}, dir, absl::Seconds(60));
  if (status != 0) {
    return absl::InternalError(absl::StrCat("openssl failed (", status, "): ", output));
  }
  return TestCertificates{certs + "/ca.crt", certs + "/server.crt", certs + "/server.key",
                          certs + "/client.crt", certs + "/client.key"};
}

}  // namespace star::testing
