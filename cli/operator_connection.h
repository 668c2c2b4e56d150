#ifndef STAR_CLI_OPERATOR_CONNECTION_H_
#define STAR_CLI_OPERATOR_CONNECTION_H_

// What every `star` command that talks to a running coordinator shares: the --coordinator
// address, TLS (--tls-ca, --tls-cert, --tls-key) and the operator's --auth-token-file, and the
// channel they describe.

#include <memory>
#include <string>

#include "flags/flag_parser.h"
#include "grpcpp/channel.h"
#include "service/security_flags.h"

namespace star {

struct OperatorConnectionFlags {
  std::string coordinator = "127.0.0.1:50051";
  SecurityFlags security;
};

// Registers the flags on `parser`, filling `flags` (which must outlive parsing).
void AddOperatorConnectionFlags(FlagParser& parser, OperatorConnectionFlags* flags);

// The channel to the coordinator. When a credential file cannot be used, prints
// "COMMAND: <error naming the flag and path>" to stderr and returns nullptr (callers exit 2, as
// for other flag errors).
std::shared_ptr<grpc::Channel> OperatorChannel(const char* command,
                                               const OperatorConnectionFlags& flags);

}  // namespace star

#endif  // STAR_CLI_OPERATOR_CONNECTION_H_
