#include "files/path_policy.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::TempDir;
namespace fs = std::filesystem;

TEST(LiesUnderTest, ComparesWholeComponents) {
  EXPECT_TRUE(LiesUnder("/data", "/data"));
  EXPECT_TRUE(LiesUnder("/data", "/data/a/b"));
  EXPECT_TRUE(LiesUnder("/data/", "/data/a"));
  EXPECT_TRUE(LiesUnder("/", "/etc/passwd"));
  EXPECT_FALSE(LiesUnder("/data", "/database/a"));
  EXPECT_FALSE(LiesUnder("/data/a", "/data"));
}

class PathPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.File("root/models/m0"));
    fs::create_directories(dir_.File("outside"));
    inside_ = dir_.Write("root/models/m0/config.json", "{}");
    outside_ = dir_.Write("outside/secret.json", "{}");
    absl::StatusOr<PathPolicy> policy = PathPolicy::Create({dir_.File("root")});
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::make_unique<PathPolicy>(*std::move(policy));
  }

  TempDir dir_;
  std::string inside_, outside_;
  std::unique_ptr<PathPolicy> policy_;
};

TEST_F(PathPolicyTest, AFileUnderARootIsResolved) {
  absl::StatusOr<std::string> got = policy_->ConfineExisting("model.init_config", inside_);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, fs::canonical(inside_).string());
}

TEST_F(PathPolicyTest, DotDotOutOfARootIsRefusedNamingTheFieldAndTheRoots) {
  const std::string escape = dir_.File("root/models/../../outside/secret.json");
  absl::StatusOr<std::string> got = policy_->ConfineExisting("model.init_config", escape);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(got.status().message().find("model.init_config: "), std::string::npos) << got.status();
  EXPECT_NE(got.status().message().find(fs::canonical(dir_.File("root")).string()),
            std::string::npos)
      << got.status();
  EXPECT_NE(got.status().message().find("outside the data roots"), std::string::npos);
}

TEST_F(PathPolicyTest, ASymlinkInsideARootThatPointsOutIsRefused) {
  fs::create_symlink(dir_.File("outside"), dir_.File("root/link"));
  EXPECT_EQ(policy_->ConfineExisting("f", dir_.File("root/link/secret.json")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy_->ConfineForWriting("f", dir_.File("root/link/new/model")).status().code(),
            absl::StatusCode::kPermissionDenied);
  // A dangling link is not followed into the unknown.
  fs::create_symlink(dir_.File("outside/not-yet"), dir_.File("root/dangling"));
  EXPECT_NE(policy_->ConfineForWriting("f", dir_.File("root/dangling")).status().code(),
            absl::StatusCode::kOk);
}

TEST_F(PathPolicyTest, ACheckpointFolderIsConfinedWithEveryEntryInIt) {
  absl::StatusOr<std::string> got = policy_->ConfineFolder("checkpoint_path", dir_.File("root/models/m0"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, fs::canonical(dir_.File("root/models/m0")).string());
  // A weights file that is a link to a file outside the roots.
  fs::create_symlink(outside_, dir_.File("root/models/m0/model.safetensors"));
  got = policy_->ConfineFolder("checkpoint_path", dir_.File("root/models/m0"));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(got.status().message().find("checkpoint_path (model.safetensors): "), std::string::npos)
      << got.status();
  EXPECT_EQ(policy_->ConfineFolder("f", inside_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PathPolicyTest, ProcAndEtcAreOutsideAndAMissingFileIsNotFound) {
  EXPECT_EQ(policy_->ConfineExisting("f", "/proc/self/environ").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy_->ConfineExisting("f", "/etc/passwd").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy_->ConfineExisting("f", dir_.File("root/none")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(policy_->ConfineExisting("f", "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PathPolicyTest, APathToBeWrittenMayNotExistYetButMustStayInside) {
  absl::StatusOr<std::string> got = policy_->ConfineForWriting("f", dir_.File("root/models/m1/x"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (fs::canonical(dir_.File("root/models")) / "m1/x").string());
  EXPECT_EQ(policy_->ConfineForWriting("f", dir_.File("root/new/../../outside/x")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy_->ConfineForWriting("f", dir_.File("outside/m1")).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(PathPolicyTest, RelativePathsAreResolvedAgainstTheWorkingDirectory) {
  const fs::path before = fs::current_path();
  fs::current_path(dir_.path());
  absl::StatusOr<std::string> got = policy_->ConfineExisting("f", "root/models/m0/config.json");
  absl::StatusOr<PathPolicy> relative = PathPolicy::Create({"root"});
  fs::current_path(before);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, fs::canonical(inside_).string());
  ASSERT_TRUE(relative.ok()) << relative.status();
  EXPECT_EQ(relative->roots().front(), fs::canonical(dir_.File("root")).string());
}

TEST(PathPolicyCreateTest, ARootThatIsNotAFolderIsNamed) {
  TempDir dir;
  absl::StatusOr<PathPolicy> policy = PathPolicy::Create({dir.File("missing")});
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(policy.status().message().find("--data-root " + dir.File("missing")), std::string::npos)
      << policy.status();
  EXPECT_FALSE(PathPolicy::Create({}).ok());
  EXPECT_FALSE(PathPolicy::Create({dir.Write("f", "x")}).ok());
}

}  // namespace
}  // namespace star
