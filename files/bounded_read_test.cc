#include "files/bounded_read.h"

#include <sys/stat.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::TempDir;

TEST(ReadFileBoundedTest, ReadsAWholeFileUpToTheLimit) {
  TempDir dir;
  const std::string path = dir.Write("a.txt", std::string(1000, 'x'));
  absl::StatusOr<std::string> read = ReadFileBounded(path, 1000);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, std::string(1000, 'x'));
}

TEST(ReadFileBoundedTest, AFileOneByteOverTheLimitIsRefusedSayingTheLimit) {
  TempDir dir;
  const std::string path = dir.Write("a.txt", std::string(1001, 'x'));
  absl::StatusOr<std::string> read = ReadFileBounded(path, 1000);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(read.status().message().find("longer than 1000 bytes"), std::string::npos)
      << read.status();
  EXPECT_NE(read.status().message().find(path), std::string::npos);
}

TEST(ReadFileBoundedTest, AProcFileThatReportsSizeZeroIsStillBounded) {
  // /proc/self/maps reports st_size 0 but holds kilobytes: the limit applies while reading.
  struct stat info{};
  ASSERT_EQ(::stat("/proc/self/maps", &info), 0);
  ASSERT_EQ(info.st_size, 0);
  absl::StatusOr<std::string> read = ReadFileBounded("/proc/self/maps", 64);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << read.status();
}

TEST(ReadFileBoundedTest, FoldersFifosAndDevicesAreNotRead) {
  TempDir dir;
  const std::string fifo = dir.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {dir.path(), fifo, std::string("/dev/zero")}) {
    absl::StatusOr<std::string> read = ReadFileBounded(path, 1 << 20);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_NE(read.status().message().find("is not a regular file"), std::string::npos)
        << read.status();
  }
}

TEST(ReadFileBoundedTest, AMissingFileIsNotFound) {
  TempDir dir;
  EXPECT_EQ(ReadFileBounded(dir.File("none"), 10).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace star
