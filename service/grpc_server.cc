#include "service/grpc_server.h"

#include <cstdio>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

namespace star {
namespace {

// "HOST:PORT" or "[V6]:PORT" -> (host, port text).
absl::Status SplitHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "' is not HOST:PORT"));
  }
  *host = address.substr(0, colon);
  if (!absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "' has no valid port (0-65535)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const std::string& listen_address, const std::vector<NamedService>& services,
    std::shared_ptr<grpc::ServerCredentials> credentials, int max_threads) {
  std::string host;
  int requested_port = 0;
  if (absl::Status s = SplitHostPort(listen_address, &host, &requested_port); !s.ok()) return s;

  // Process-wide switch; must be set before the builder runs.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(
      listen_address,
      credentials != nullptr ? credentials : grpc::InsecureServerCredentials(), &bound_port);
  for (const NamedService& named : services) builder.RegisterService(named.service);
  builder.SetMaxReceiveMessageSize(64 << 20);
  if (max_threads > 0) {
    grpc::ResourceQuota quota("star-server");
    quota.SetMaxThreads(max_threads);
    builder.SetResourceQuota(quota);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen_address,
                                               " (address in use or not local?)"));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus("", true);
  for (const NamedService& named : services) health->SetServingStatus(named.name, true);
  return std::unique_ptr<GrpcServer>(
      new GrpcServer(std::move(server), bound_port, absl::StrCat(host, ":", bound_port)));
}

GrpcServer::GrpcServer(std::unique_ptr<grpc::Server> server, int port, std::string address)
    : server_(std::move(server)), port_(port), address_(std::move(address)) {}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

void GrpcServer::Shutdown(absl::Duration grace) {
  std::lock_guard<std::mutex> lock(shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  // Shutdown() of the health service marks every service NOT_SERVING and keeps it so.
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace));
  server_->Wait();
}

absl::Status WritePortFile(const std::string& path, int port) {
  std::string tmp = absl::StrCat(path, ".tmp");
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot write port file ", tmp));
  std::fprintf(f, "%d\n", port);
  if (std::fclose(f) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write port file ", path));
  }
  return absl::OkStatus();
}

}  // namespace star
