#ifndef STAR_SERVICE_SECURITY_FLAGS_H_
#define STAR_SERVICE_SECURITY_FLAGS_H_

// The --tls-cert, --tls-key, --tls-ca and --auth-token-file flags, with help that fits the
// side registering them (see service/channel_security.h for what they do).

#include <string>

#include "flags/flag_parser.h"
#include "service/channel_security.h"

namespace star {

struct SecurityFlags {
  TlsFiles tls;
  std::string auth_token_file;
};

// The coordinator: TLS, mutual TLS and the operator API's token.
void AddServerSecurityFlags(FlagParser& parser, SecurityFlags* flags);

// A client of the coordinator. `with_token`: also --auth-token-file (the operator's commands;
// workers and trainer ranks authenticate with client certificates instead).
void AddClientSecurityFlags(FlagParser& parser, SecurityFlags* flags, bool with_token);

}  // namespace star

#endif  // STAR_SERVICE_SECURITY_FLAGS_H_
