// TLS, mutual TLS and the operator API's bearer token, end to end: a real coordinator, worker,
// trainer rank and `star` commands on loopback, with certificates openssl makes per test.

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/channel_security.h"
#include "service/health_client.h"
#include "star/v1/coordinator.grpc.pb.h"
#include "star/v1/jobs.grpc.pb.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::BinaryPath;
using ::star::testing::MakeTestCertificates;
using ::star::testing::ReadFile;
using ::star::testing::RunCommand;
using ::star::testing::StartCoordinator;
using ::star::testing::TempDir;
using ::star::testing::TestCertificates;

std::chrono::system_clock::time_point In(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}


// Certificates, or a skip (a failure under CI) when openssl is missing.
#define STAR_ASSIGN_CERTIFICATES(certs, dir)                               \
  absl::StatusOr<TestCertificates> certs##_or = MakeTestCertificates(dir); \
  if (absl::IsFailedPrecondition(certs##_or.status())) {                   \
    STAR_SKIP_FOR_MISSING_TOOL(certs##_or.status().message());             \
  }                                                                        \
  ASSERT_TRUE(certs##_or.ok()) << certs##_or.status();                     \
  const TestCertificates& certs = *certs##_or

ClientSecurity LoadOrDie(const TlsFiles& tls, const std::string& token_file = "") {
  absl::StatusOr<ClientSecurity> security = LoadClientSecurity(tls, token_file);
  EXPECT_TRUE(security.ok()) << security.status();
  return security.ok() ? *security : ClientSecurity();
}

absl::StatusOr<star::v1::ClusterStatus> GetCluster(grpc::Channel& channel) {
  auto jobs = star::v1::Jobs::NewStub(
      std::shared_ptr<grpc::ChannelInterface>(&channel, [](grpc::ChannelInterface*) {}));
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(5)));
  star::v1::ClusterStatus cluster;
  grpc::Status status = jobs->GetCluster(&context, star::v1::GetClusterRequest(), &cluster);
  if (!status.ok()) return absl::InternalError(status.error_message());
  return cluster;
}

TEST(SecurityProcessTest, TlsCoordinatorServesHealthOverTlsAndNotToPlaintextClients) {
  TempDir dir;
  STAR_ASSIGN_CERTIFICATES(certs, dir);
  ClientSecurity tls = LoadOrDie({.ca_file = certs.ca_cert});
  absl::StatusOr<testing::RunningCoordinator> coordinator = StartCoordinator(
      dir, absl::Seconds(30), {"--tls-cert", certs.server_cert, "--tls-key", certs.server_key},
      tls);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  EXPECT_NE(ReadFile(coordinator->log_path).find("(TLS)"), std::string::npos);

  absl::StatusOr<HealthState> over_tls =
      CheckHealth(*MakeChannel(coordinator->address, tls), "", absl::Seconds(5));
  ASSERT_TRUE(over_tls.ok()) << over_tls.status();
  EXPECT_EQ(*over_tls, HealthState::kServing);
  absl::StatusOr<HealthState> plaintext =
      CheckHealth(*MakeChannel(coordinator->address), "", absl::Seconds(5));
  EXPECT_EQ(plaintext.status().code(), absl::StatusCode::kUnavailable) << plaintext.status();

  // The operator's command, both ways.
  auto [ok_status, ok_output] = RunCommand({BinaryPath("star"), "status", "--coordinator",
                                            coordinator->address, "--tls-ca", certs.ca_cert},
                                           dir, absl::Seconds(30));
  EXPECT_EQ(ok_status, 0) << ok_output;
  EXPECT_NE(ok_output.find("SERVING"), std::string::npos) << ok_output;
  auto [plain_status, plain_output] = RunCommand(
      {BinaryPath("star"), "status", "--coordinator", coordinator->address}, dir,
      absl::Seconds(30));
  EXPECT_EQ(plain_status, 1) << plain_output;
  EXPECT_NE(plain_output.find("UNAVAILABLE"), std::string::npos) << plain_output;
}

TEST(SecurityProcessTest, MutualTlsAdmitsWorkersAndTrainersWithAClientCertificateOnly) {
  TempDir dir;
  STAR_ASSIGN_CERTIFICATES(certs, dir);
  ClientSecurity mtls = LoadOrDie(
      {.cert_file = certs.client_cert, .key_file = certs.client_key, .ca_file = certs.ca_cert});
  absl::StatusOr<testing::RunningCoordinator> coordinator = StartCoordinator(
      dir, absl::Seconds(30),
      {"--tls-cert", certs.server_cert, "--tls-key", certs.server_key, "--tls-ca", certs.ca_cert},
      mtls);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  EXPECT_NE(ReadFile(coordinator->log_path).find("(mutual TLS)"), std::string::npos);
  std::shared_ptr<grpc::Channel> channel = MakeChannel(coordinator->address, mtls);

  // TLS without a client certificate connects (probes need health) but is refused service.
  ClientSecurity no_cert = LoadOrDie({.ca_file = certs.ca_cert});
  absl::StatusOr<HealthState> health =
      CheckHealth(*MakeChannel(coordinator->address, no_cert), "", absl::Seconds(5));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, HealthState::kServing);
  {
    auto members = star::v1::Coordinator::NewStub(MakeChannel(coordinator->address, no_cert));
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(5)));
    star::v1::RegisterWorkerRequest request;
    request.set_hostname("direct-no-cert");
    request.set_batch_size(1);
    star::v1::RegisterWorkerResponse response;
    grpc::Status rpc = members->RegisterWorker(&context, request, &response);
    EXPECT_EQ(rpc.error_code(), grpc::StatusCode::UNAUTHENTICATED) << rpc.error_message();
    EXPECT_NE(rpc.error_message().find("client certificate required"), std::string::npos)
        << rpc.error_message();
  }

  const std::vector<std::string> client_cert = {"--tls-ca",  certs.ca_cert,
                                                "--tls-cert", certs.client_cert,
                                                "--tls-key",  certs.client_key};
  std::vector<std::string> with_cert = {BinaryPath("star-worker"), "--coordinator",
                                        coordinator->address, "--hostname", "with-cert"};
  with_cert.insert(with_cert.end(), client_cert.begin(), client_cert.end());
  absl::StatusOr<ChildProcess> worker = ChildProcess::Start(with_cert, dir.File("worker.log"));
  ASSERT_TRUE(worker.ok()) << worker.status();
  std::vector<std::string> trainer_argv = {BinaryPath("star-trainer"), "--coordinator",
                                           coordinator->address, "--trainer-id", "t-cert",
                                           "--hostname", "127.0.0.1"};
  trainer_argv.insert(trainer_argv.end(), client_cert.begin(), client_cert.end());
  absl::StatusOr<ChildProcess> trainer =
      ChildProcess::Start(trainer_argv, dir.File("trainer.log"));
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  absl::StatusOr<ChildProcess> rejected = ChildProcess::Start(
      {BinaryPath("star-worker"), "--coordinator", coordinator->address, "--hostname", "no-cert",
       "--tls-ca", certs.ca_cert},
      dir.File("rejected.log"));
  ASSERT_TRUE(rejected.ok()) << rejected.status();

  absl::Time deadline = absl::Now() + absl::Seconds(60);
  star::v1::ClusterStatus cluster;
  while (absl::Now() < deadline) {
    absl::StatusOr<star::v1::ClusterStatus> seen = GetCluster(*channel);
    ASSERT_TRUE(seen.ok()) << seen.status();
    cluster = *seen;
    if (cluster.workers_size() >= 1 && cluster.trainers_size() >= 1 &&
        ReadFile(dir.File("rejected.log")).find("cannot register") != std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));  // polling spacing, not synchronisation
  }
  ASSERT_EQ(cluster.workers_size(), 1) << cluster.DebugString() << ReadFile(dir.File("worker.log"));
  EXPECT_EQ(cluster.workers(0).hostname(), "with-cert");
  ASSERT_EQ(cluster.trainers_size(), 1) << cluster.DebugString()
                                        << ReadFile(dir.File("trainer.log"));
  EXPECT_EQ(cluster.trainers(0).trainer_id(), "t-cert");
  std::string rejected_log = ReadFile(dir.File("rejected.log"));
  EXPECT_NE(rejected_log.find("cannot register with " + coordinator->address), std::string::npos)
      << rejected_log;
  EXPECT_NE(rejected_log.find("UNAUTHENTICATED"), std::string::npos) << rejected_log;

  // Without --auth-token-file, the operator API takes client certificates too.
  auto [cert_rc, cert_out] = RunCommand(
      {BinaryPath("star"), "status", "--coordinator", coordinator->address, "--tls-ca",
       certs.ca_cert, "--tls-cert", certs.client_cert, "--tls-key", certs.client_key},
      dir, absl::Seconds(30));
  EXPECT_EQ(cert_rc, 0) << cert_out;
  EXPECT_NE(cert_out.find("with-cert"), std::string::npos) << cert_out;
  auto [bare_rc, bare_out] = RunCommand({BinaryPath("star"), "status", "--coordinator",
                                         coordinator->address, "--tls-ca", certs.ca_cert},
                                        dir, absl::Seconds(30));
  EXPECT_EQ(bare_rc, 1) << bare_out;
  EXPECT_NE(bare_out.find("UNAUTHENTICATED"), std::string::npos) << bare_out;
}

TEST(SecurityProcessTest, OperatorApiRejectsCallsWithoutTheBearerTokenAndChangesNothing) {
  TempDir dir;
  const std::string token_file = dir.Write("token", "s3cret-operator-token\n");
  const std::string wrong_file = dir.Write("wrong", "s3cret-operator-tokem\n");
  absl::StatusOr<testing::RunningCoordinator> coordinator =
      StartCoordinator(dir, absl::Seconds(30), {"--auth-token-file", token_file});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  const std::string job = dir.Write("job.yaml", testing::JobWithAnEmptyModel(dir, "guarded"));
  const std::string star = BinaryPath("star");
  const std::string& address = coordinator->address;

  // Health stays open (probes carry no token); the Jobs calls after it are refused.
  auto [status_rc, status_out] =
      RunCommand({star, "status", "--coordinator", address}, dir, absl::Seconds(30));
  EXPECT_EQ(status_rc, 1) << status_out;
  EXPECT_NE(status_out.find("coordinator " + address + " SERVING"), std::string::npos)
      << status_out;
  EXPECT_NE(status_out.find("UNAUTHENTICATED"), std::string::npos) << status_out;
  EXPECT_NE(status_out.find("missing bearer token"), std::string::npos) << status_out;

  auto [submit_rc, submit_out] =
      RunCommand({star, "submit", job, "--coordinator", address}, dir, absl::Seconds(30));
  EXPECT_EQ(submit_rc, 1) << submit_out;
  EXPECT_NE(submit_out.find("UNAUTHENTICATED"), std::string::npos) << submit_out;

  auto [wrong_rc, wrong_out] = RunCommand(
      {star, "submit", job, "--coordinator", address, "--auth-token-file", wrong_file}, dir,
      absl::Seconds(30));
  EXPECT_EQ(wrong_rc, 1) << wrong_out;
  EXPECT_NE(wrong_out.find("UNAUTHENTICATED"), std::string::npos) << wrong_out;
  EXPECT_NE(wrong_out.find("invalid bearer token"), std::string::npos) << wrong_out;

  // Nothing was submitted.
  std::shared_ptr<grpc::Channel> operator_channel =
      MakeChannel(address, LoadOrDie({}, token_file));
  auto jobs = star::v1::Jobs::NewStub(operator_channel);
  {
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(5)));
    star::v1::ListJobsResponse listed;
    grpc::Status rpc = jobs->ListJobs(&context, star::v1::ListJobsRequest(), &listed);
    ASSERT_TRUE(rpc.ok()) << rpc.error_message();
    EXPECT_EQ(listed.jobs_size(), 0);
  }
  // The same call without the token, straight from a client, is refused too.
  {
    auto bare = star::v1::Jobs::NewStub(MakeChannel(address));
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(5)));
    star::v1::ListJobsResponse listed;
    grpc::Status rpc = bare->ListJobs(&context, star::v1::ListJobsRequest(), &listed);
    EXPECT_EQ(rpc.error_code(), grpc::StatusCode::UNAUTHENTICATED) << rpc.error_message();
  }

  auto [good_rc, good_out] = RunCommand(
      {star, "submit", job, "--coordinator", address, "--auth-token-file", token_file}, dir,
      absl::Seconds(30));
  ASSERT_EQ(good_rc, 0) << good_out;
  EXPECT_NE(good_out.find("job guarded-1 submitted to " + address), std::string::npos)
      << good_out;
  auto [ok_rc, ok_out] = RunCommand(
      {star, "status", "--coordinator", address, "--auth-token-file", token_file}, dir,
      absl::Seconds(30));
  EXPECT_EQ(ok_rc, 0) << ok_out;
  EXPECT_NE(ok_out.find("jobs: 1"), std::string::npos) << ok_out;

  // Workers are not operators: the Coordinator service takes no token.
  auto workers = star::v1::Coordinator::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(5)));
  star::v1::RegisterWorkerRequest request;
  request.set_hostname("tokenless");
  request.set_batch_size(1);
  star::v1::RegisterWorkerResponse response;
  grpc::Status rpc = workers->RegisterWorker(&context, request, &response);
  EXPECT_TRUE(rpc.ok()) << rpc.error_message();
}

TEST(SecurityProcessTest, UnreadableOrEmptyCredentialFilesStopStartupNamingFlagAndPath) {
  TempDir dir;
  const std::string missing = dir.File("missing.pem");
  const std::string not_pem = dir.Write("not.pem", "hello\n");
  const std::string empty = dir.Write("empty", " \n");
  struct Case {
    std::vector<std::string> argv;
    int exit_status;
    std::string message;
  };
  const std::string coordinator = BinaryPath("star-coordinator");
  const std::vector<std::string> listen = {"--listen", "127.0.0.1:0", "--state-dir",
                                           dir.File("state")};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const std::vector<Case> cases = {
      {with({coordinator, "--tls-cert", missing, "--tls-key", not_pem}, listen), 1,
       "--tls-cert " + missing + ": cannot read: No such file or directory"},
      {with({coordinator, "--tls-cert", not_pem, "--tls-key", not_pem}, listen), 1,
       "--tls-cert " + not_pem + ": not a PEM file"},
      {with({coordinator, "--tls-cert", not_pem}, listen), 1,
       "--tls-cert " + not_pem + " needs --tls-key"},
      {with({coordinator, "--tls-ca", not_pem}, listen), 1, "--tls-ca " + not_pem},
      {with({coordinator, "--auth-token-file", empty}, listen), 1,
       "--auth-token-file " + empty + ": the file holds no token"},
      {{BinaryPath("star-worker"), "--tls-ca", missing}, 1,
       "--tls-ca " + missing + ": cannot read"},
      {{BinaryPath("star"), "status", "--auth-token-file", missing}, 2,
       "star status: --auth-token-file " + missing + ": cannot read"},
      {{BinaryPath("star"), "watch", "--tls-ca", not_pem}, 2,
       "star watch: --tls-ca " + not_pem + ": not a PEM file"},
      {{BinaryPath("star"), "submit", "job.yaml", "--tls-key", not_pem}, 2,
       "star submit: --tls-key " + not_pem + " needs --tls-cert"},
  };
  for (const Case& c : cases) {
    auto [status, output] = RunCommand(c.argv, dir, absl::Seconds(30));
    EXPECT_EQ(status, c.exit_status) << c.argv[0] << " " << c.argv[1] << ": " << output;
    EXPECT_NE(output.find(c.message), std::string::npos) << c.message << "\n" << output;
  }
}

}  // namespace
}  // namespace star
