#include "cli/operator_connection.h"

#include <cstdio>

#include "service/channel_security.h"
#include "service/health_client.h"

namespace star {

void AddOperatorConnectionFlags(FlagParser& parser, OperatorConnectionFlags* flags) {
  parser.AddHostPort("coordinator", &flags->coordinator, "coordinator address HOST:PORT");
  AddClientSecurityFlags(parser, &flags->security, /*with_token=*/true);
}

std::shared_ptr<grpc::Channel> OperatorChannel(const char* command,
                                               const OperatorConnectionFlags& flags) {
  absl::StatusOr<ClientSecurity> security =
      LoadClientSecurity(flags.security.tls, flags.security.auth_token_file);
  if (!security.ok()) {
    std::fprintf(stderr, "%s: %s\n", command, std::string(security.status().message()).c_str());
    return nullptr;
  }
  return MakeChannel(flags.coordinator, *security);
}

}  // namespace star
