#include "service/channel_security.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace star {
namespace {

// The whole content of the file `flag` names.
absl::StatusOr<std::string> ReadFlagFile(const std::string& flag, const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": cannot read: ",
                                                   errno != 0 ? std::strerror(errno) : "?"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": cannot read"));
  }
  return text.str();
}

// gRPC only reports bad PEM when the first connection fails (or the server does not start),
// far from the flag; an obviously wrong file is refused here instead.
absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> text = ReadFlagFile(flag, path);
  if (!text.ok()) return text.status();
  if (!absl::StrContains(*text, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": not a PEM file (no -----BEGIN line)"));
  }
  return text;
}

absl::Status ReadPemIfGiven(const std::string& flag, const std::string& path, std::string* pem) {
  if (path.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> text = ReadPemFile(flag, path);
  if (!text.ok()) return text.status();
  *pem = std::move(*text);
  return absl::OkStatus();
}

absl::Status CheckCertKeyPair(const TlsFiles& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        tls.cert_file.empty() ? absl::StrCat("--tls-key ", tls.key_file, " needs --tls-cert")
                              : absl::StrCat("--tls-cert ", tls.cert_file, " needs --tls-key"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadBearerTokenFile(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> text = ReadFlagFile(flag, path);
  if (!text.ok()) return text.status();
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": the file holds no token"));
  }
  for (char c : token) {
    // Metadata values must be printable ASCII; a token with a newline inside would be cut.
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, " ", path, ": the token must be one word of printable ASCII"));
    }
  }
  return token;
}

absl::StatusOr<ClientSecurity> LoadClientSecurity(const TlsFiles& tls,
                                                  const std::string& token_file) {
  ClientSecurity security;
  if (absl::Status s = CheckCertKeyPair(tls); !s.ok()) return s;
  if (!tls.cert_file.empty() || !tls.ca_file.empty()) {
    grpc::SslCredentialsOptions options;
    if (absl::Status s = ReadPemIfGiven("tls-ca", tls.ca_file, &options.pem_root_certs); !s.ok()) {
      return s;
    }
    if (absl::Status s = ReadPemIfGiven("tls-cert", tls.cert_file, &options.pem_cert_chain);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = ReadPemIfGiven("tls-key", tls.key_file, &options.pem_private_key);
        !s.ok()) {
      return s;
    }
    security.credentials = grpc::SslCredentials(options);
  }
  if (!token_file.empty()) {
    absl::StatusOr<std::string> token = ReadBearerTokenFile("auth-token-file", token_file);
    if (!token.ok()) return token.status();
    security.bearer_token = std::move(*token);
  }
  return security;
}

absl::StatusOr<ServerSecurity> LoadServerSecurity(const TlsFiles& tls,
                                                  const std::string& token_file) {
  ServerSecurity security;
  if (absl::Status s = CheckCertKeyPair(tls); !s.ok()) return s;
  if (!tls.ca_file.empty() && tls.cert_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-ca ", tls.ca_file, " (mutual TLS) needs --tls-cert and --tls-key"));
  }
  if (!tls.cert_file.empty()) {
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (absl::Status s = ReadPemIfGiven("tls-cert", tls.cert_file, &pair.cert_chain); !s.ok()) {
      return s;
    }
    if (absl::Status s = ReadPemIfGiven("tls-key", tls.key_file, &pair.private_key); !s.ok()) {
      return s;
    }
    grpc::SslServerCredentialsOptions options(
        // A certificate, when presented, must verify; its absence is left to the services
        // (CallAuthenticator), so that health probes and token-bearing operators without one
        // still connect, and a refused call gets UNAUTHENTICATED rather than a failed handshake.
        tls.ca_file.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                            : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    if (absl::Status s = ReadPemIfGiven("tls-ca", tls.ca_file, &options.pem_root_certs); !s.ok()) {
      return s;
    }
    options.pem_key_cert_pairs.push_back(std::move(pair));
    security.credentials = grpc::SslServerCredentials(options);
    security.client_certificates = !tls.ca_file.empty();
  }
  if (!token_file.empty()) {
    absl::StatusOr<std::string> token = ReadBearerTokenFile("auth-token-file", token_file);
    if (!token.ok()) return token.status();
    security.bearer_token = std::move(*token);
  }
  return security;
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  // Runs over the longer string so that neither the first difference nor the shorter length
  // decides when the loop ends; only the two lengths together are visible in the timing.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

BearerTokenCheck::BearerTokenCheck(std::string token)
    : expected_(absl::StrCat("Bearer ", token)) {}

grpc::Status BearerTokenCheck::Check(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing bearer token (authorization metadata; star: --auth-token-file)");
  }
  if (!ConstantTimeEquals(std::string(it->second.data(), it->second.size()), expected_)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid bearer token");
  }
  return grpc::Status::OK;
}

grpc::Status ClientCertificateCheck::Check(const grpc::ServerContextBase& context) const {
  // The handshake already refused certificates that do not verify; an authenticated peer is
  // one that presented a good one.
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "client certificate required (mutual TLS; --tls-cert and --tls-key)");
  }
  return grpc::Status::OK;
}

std::unique_ptr<CallAuthenticator> OperatorAuthenticator(const ServerSecurity& security) {
  if (!security.bearer_token.empty()) {
    return std::make_unique<BearerTokenCheck>(security.bearer_token);
  }
  return ClusterMemberAuthenticator(security);
}

std::unique_ptr<CallAuthenticator> ClusterMemberAuthenticator(const ServerSecurity& security) {
  if (security.client_certificates) return std::make_unique<ClientCertificateCheck>();
  return nullptr;
}

}  // namespace star
