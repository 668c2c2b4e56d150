#ifndef STAR_SERVICE_CHANNEL_SECURITY_H_
#define STAR_SERVICE_CHANNEL_SECURITY_H_

// Credentials for the project's gRPC channels, in one place: TLS (and mutual TLS) from PEM
// files, and the bearer token that guards the operator API (the Jobs service).
//
//   Server (star-coordinator): --tls-cert and --tls-key turn TLS on; --tls-ca additionally
//   verifies client certificates against that CA (mutual TLS), which the workers' and
//   trainers' services then require (see OperatorAuthenticator below for who needs what).
//   Client (star-worker, star-trainer, star status/watch/submit): --tls-ca turns TLS on and
//   verifies the coordinator against that CA; --tls-cert and --tls-key present a client
//   certificate. Without any of them a client (or the server) speaks plaintext.
//
// Every error names the flag and the path it came from, so that a main can print it as is.

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class ChannelCredentials;
class ServerContextBase;
class ServerCredentials;
class Status;
}  // namespace grpc

namespace star {

// The PEM files given by --tls-cert, --tls-key and --tls-ca; "" when not given.
struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
};

// What a client needs to reach a coordinator. The default is plaintext without a token.
struct ClientSecurity {
  // Null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Sent as "authorization: Bearer TOKEN" on every call; "" sends nothing.
  std::string bearer_token;
};

// What a server needs. The default is plaintext without a token.
struct ServerSecurity {
  // Null: plaintext.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Whether clients may present certificates, verified against --tls-ca (mutual TLS).
  bool client_certificates = false;
  // The operator API's token; "" for none.
  std::string bearer_token;
};

// Reads the files for a client. Returns kInvalidArgument naming the flag and path for a file
// that cannot be read or is not PEM, for --tls-cert without --tls-key (or the reverse), and
// for an empty token file. `token_file` "" means no token.
absl::StatusOr<ClientSecurity> LoadClientSecurity(const TlsFiles& tls,
                                                  const std::string& token_file);

// Reads the files for a server; errors as LoadClientSecurity, and also for --tls-ca without
// --tls-cert/--tls-key.
absl::StatusOr<ServerSecurity> LoadServerSecurity(const TlsFiles& tls,
                                                  const std::string& token_file);

// The token in `path` (`flag` names it in errors): the file's content without surrounding
// whitespace. kInvalidArgument when it cannot be read or holds no token.
absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& flag, const std::string& path);

// Decides whether an incoming call may reach a service; a gRPC adapter asks before it does
// anything. Implementations are immutable and thread-safe.
class CallAuthenticator {
 public:
  virtual ~CallAuthenticator() = default;
  // OK, or UNAUTHENTICATED with a message saying what is missing or wrong.
  virtual grpc::Status Check(const grpc::ServerContextBase& context) const = 0;
};

// Requires "authorization: Bearer TOKEN" metadata with one token, compared in time that does
// not depend on where a wrong token differs.
class BearerTokenCheck final : public CallAuthenticator {
 public:
  // `token` must not be empty.
  explicit BearerTokenCheck(std::string token);

  BearerTokenCheck(const BearerTokenCheck&) = delete;
  BearerTokenCheck& operator=(const BearerTokenCheck&) = delete;

  // UNAUTHENTICATED "missing bearer token" or "invalid bearer token".
  grpc::Status Check(const grpc::ServerContextBase& context) const override;

 private:
  std::string expected_;  // "Bearer TOKEN"
};

// Requires a client certificate that the TLS handshake verified against the server's
// --tls-ca (mutual TLS).
class ClientCertificateCheck final : public CallAuthenticator {
 public:
  // UNAUTHENTICATED "client certificate required".
  grpc::Status Check(const grpc::ServerContextBase& context) const override;
};

// Who may call what, from the coordinator's flags:
//   Jobs (the operator API): the bearer token when --auth-token-file is given; otherwise a
//     client certificate when --tls-ca is given; otherwise anyone.
//   Coordinator and Training (workers, trainer ranks): a client certificate when --tls-ca is
//     given; otherwise anyone. The token is not asked for.
//   Health: anyone, always (probes).
// Each returns null where anyone may call.
std::unique_ptr<CallAuthenticator> OperatorAuthenticator(const ServerSecurity& security);
std::unique_ptr<CallAuthenticator> ClusterMemberAuthenticator(const ServerSecurity& security);

// Whether `a` equals `b`, comparing every byte whatever the first difference.
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace star

#endif  // STAR_SERVICE_CHANNEL_SECURITY_H_
