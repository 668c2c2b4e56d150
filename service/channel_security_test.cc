#include "service/channel_security.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace star {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/channel_security_test_" +
                     std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConstantTimeEqualsTest, EqualOnlyForTheSameBytesAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("Bearer abc", "Bearer abc"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer abc", "Bearer abd"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer abc", "Bearer ab"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer ab", "Bearer abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  // A shorter string that is a prefix padded with what the loop pads with is still different.
  EXPECT_FALSE(ConstantTimeEquals(std::string("ab\0", 3), "ab"));
}

TEST(ReadBearerTokenFileTest, StripsSurroundingWhitespaceAndRefusesEmptyOrSpacedTokens) {
  std::string good = WriteTemp("good", "  tok-123\n");
  absl::StatusOr<std::string> token = ReadBearerTokenFile("auth-token-file", good);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "tok-123");

  std::string empty = WriteTemp("empty", "\n\t \n");
  absl::StatusOr<std::string> none = ReadBearerTokenFile("auth-token-file", empty);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(
      none.status().message().find("--auth-token-file " + empty + ": the file holds no token"),
      std::string::npos)
      << none.status();

  std::string spaced = WriteTemp("spaced", "two words\n");
  absl::StatusOr<std::string> two = ReadBearerTokenFile("auth-token-file", spaced);
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(two.status().message().find("one word of printable ASCII"), std::string::npos);

  absl::StatusOr<std::string> missing = ReadBearerTokenFile("auth-token-file", good + ".no");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("--auth-token-file " + good + ".no: cannot read"),
            std::string::npos)
      << missing.status();
  for (const std::string& p : {good, empty, spaced}) std::remove(p.c_str());
}

TEST(LoadSecurityTest, NothingGivenMeansPlaintextWithoutChecks) {
  absl::StatusOr<ServerSecurity> server = LoadServerSecurity({}, "");
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(server->credentials, nullptr);
  EXPECT_FALSE(server->client_certificates);
  EXPECT_EQ(OperatorAuthenticator(*server), nullptr);
  EXPECT_EQ(ClusterMemberAuthenticator(*server), nullptr);
  absl::StatusOr<ClientSecurity> client = LoadClientSecurity({}, "");
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(client->credentials, nullptr);
  EXPECT_EQ(client->bearer_token, "");
}

TEST(LoadSecurityTest, TokenGuardsOnlyTheOperatorApi) {
  std::string file = WriteTemp("token", "tok\n");
  absl::StatusOr<ServerSecurity> server = LoadServerSecurity({}, file);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(server->bearer_token, "tok");
  EXPECT_NE(dynamic_cast<BearerTokenCheck*>(OperatorAuthenticator(*server).get()), nullptr);
  EXPECT_EQ(ClusterMemberAuthenticator(*server), nullptr);
  std::remove(file.c_str());
}

TEST(LoadSecurityTest, HalfAPairOrACaWithoutACertificateIsRefusedNamingTheFlags) {
  std::string pem = WriteTemp("x.pem", "-----BEGIN CERTIFICATE-----\n");
  absl::StatusOr<ServerSecurity> no_key = LoadServerSecurity({.cert_file = pem}, "");
  EXPECT_EQ(no_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_key.status().message().find("--tls-cert " + pem + " needs --tls-key"),
            std::string::npos)
      << no_key.status();
  absl::StatusOr<ServerSecurity> ca_only = LoadServerSecurity({.ca_file = pem}, "");
  EXPECT_EQ(ca_only.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ca_only.status().message().find("needs --tls-cert and --tls-key"), std::string::npos)
      << ca_only.status();
  absl::StatusOr<ClientSecurity> no_cert = LoadClientSecurity({.key_file = pem}, "");
  EXPECT_EQ(no_cert.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_cert.status().message().find("--tls-key " + pem + " needs --tls-cert"),
            std::string::npos)
      << no_cert.status();
  std::remove(pem.c_str());
}

}  // namespace
}  // namespace star
