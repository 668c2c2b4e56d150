#include "service/security_flags.h"

namespace star {

void AddServerSecurityFlags(FlagParser& parser, SecurityFlags* flags) {
  parser.AddString("tls-cert", &flags->tls.cert_file,
                   "PEM certificate chain to serve TLS with (needs --tls-key); default plaintext");
  parser.AddString("tls-key", &flags->tls.key_file, "PEM private key of --tls-cert");
  parser.AddString("tls-ca", &flags->tls.ca_file,
                   "PEM CA certificates to verify client certificates against (mutual TLS): "
                   "worker and trainer calls then need one, and so do Jobs calls unless "
                   "--auth-token-file is given");
  parser.AddString("auth-token-file", &flags->auth_token_file,
                   "file holding a token that Jobs calls (the operator API) must send as "
                   "'authorization: Bearer TOKEN'; health checks stay open, worker and "
                   "trainer calls do not need it");
}

void AddClientSecurityFlags(FlagParser& parser, SecurityFlags* flags, bool with_token) {
  parser.AddString("tls-ca", &flags->tls.ca_file,
                   "PEM CA certificates: connect over TLS and verify the coordinator against "
                   "them; default plaintext");
  parser.AddString("tls-cert", &flags->tls.cert_file,
                   "PEM client certificate for a coordinator that requires mutual TLS (needs "
                   "--tls-key; implies TLS)");
  parser.AddString("tls-key", &flags->tls.key_file, "PEM private key of --tls-cert");
  if (with_token) {
    parser.AddString("auth-token-file", &flags->auth_token_file,
                     "file holding the coordinator's operator token, sent as "
                     "'authorization: Bearer TOKEN'");
  }
}

}  // namespace star
