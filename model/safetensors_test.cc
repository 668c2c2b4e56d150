#include "model/safetensors.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace star {
namespace {

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("safetensors-test-", ::getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes raw bytes: an 8-byte little-endian header length, the header, then `data`.
  std::string WriteRaw(const std::string& name, const std::string& header, const std::string& data,
                       std::optional<uint64_t> header_len = std::nullopt) {
    std::string path = Path(name);
    std::ofstream out(path, std::ios::binary);
    uint64_t n = header_len.value_or(header.size());
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
    out << header << data;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(SafetensorsTest, WriteThenReadIsBitExactForEveryDtype) {
  std::mt19937_64 rng(7);
  const std::vector<TensorDtype> dtypes = {TensorDtype::kF64, TensorDtype::kF32, TensorDtype::kF16,
                                           TensorDtype::kBF16, TensorDtype::kI64, TensorDtype::kI32,
                                           TensorDtype::kI16, TensorDtype::kI8, TensorDtype::kU8,
                                           TensorDtype::kBool};
  std::vector<std::vector<uint8_t>> payloads;
  std::vector<TensorToWrite> tensors;
  for (TensorDtype dtype : dtypes) {
    std::vector<int64_t> shape = {3, 5};
    std::vector<uint8_t> bytes(15 * TensorDtypeSize(dtype));
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    if (dtype == TensorDtype::kBool) {
      for (uint8_t& b : bytes) b &= 1;
    }
    payloads.push_back(std::move(bytes));
    tensors.push_back(TensorToWrite{absl::StrCat("t.", TensorDtypeName(dtype)), dtype, shape,
                                    payloads.back().data(), payloads.back().size()});
  }
  // A zero-element tensor and a scalar are legal too.
  tensors.push_back(TensorToWrite{"empty", TensorDtype::kF32, {0, 4}, nullptr, 0});
  float scalar = 3.5f;
  tensors.push_back(TensorToWrite{"scalar", TensorDtype::kF32, {}, &scalar, 4});
  ASSERT_TRUE(WriteSafetensors(Path("all.safetensors"), tensors, {{"format", "pt"}}).ok());

  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(Path("all.safetensors"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  ASSERT_EQ((*file)->tensors().size(), tensors.size());
  for (const TensorToWrite& want : tensors) {
    const TensorView* got = (*file)->Find(want.name);
    ASSERT_NE(got, nullptr) << want.name;
    EXPECT_EQ(got->dtype, want.dtype);
    EXPECT_EQ(got->shape, want.shape);
    ASSERT_EQ(got->size_bytes, want.size_bytes);
    if (want.size_bytes > 0) EXPECT_EQ(std::memcmp(got->data, want.data, want.size_bytes), 0);
  }
  // Data starts 8-byte aligned after the padded header.
  std::ifstream in(Path("all.safetensors"), std::ios::binary);
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  EXPECT_EQ(len[0] % 8, 0);
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  auto file = SafetensorsFile::Open(Path("nope.safetensors"));
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(file.status().message().find("nope.safetensors"), std::string::npos);
}

TEST_F(SafetensorsTest, OnlyRegularFilesAreOpened) {
  // A /proc file reports size 0 (refused as truncated); a folder or a device is not mapped.
  EXPECT_EQ(SafetensorsFile::Open("/proc/self/maps").status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const std::string path : {std::string("/dev/zero"), dir_.string()}) {
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
    EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_NE(file.status().message().find("is not a regular file"), std::string::npos)
        << file.status();
  }
}

TEST_F(SafetensorsTest, FileShorterThanLengthPrefixIsTruncated) {
  std::string path = Path("short.safetensors");
  std::ofstream(path) << "abc";
  auto file = SafetensorsFile::Open(path);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(file.status().message().find("truncated"), std::string::npos);
  EXPECT_NE(file.status().message().find("short.safetensors"), std::string::npos);
}

TEST_F(SafetensorsTest, HeaderLengthPastEndOfFileIsReported) {
  std::string path = WriteRaw("len.safetensors", "{}", "", 1000);
  auto file = SafetensorsFile::Open(path);
  EXPECT_NE(file.status().message().find("header length 1000 exceeds"), std::string::npos)
      << file.status();
}

TEST_F(SafetensorsTest, HeaderThatIsNotJsonIsReported) {
  std::string path = WriteRaw("json.safetensors", "{not json", "");
  auto file = SafetensorsFile::Open(path);
  EXPECT_NE(file.status().message().find("header is not a JSON object"), std::string::npos);
}

TEST_F(SafetensorsTest, TruncatedDataNamesTheTensor) {
  std::string header = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  std::string path = WriteRaw("trunc.safetensors", header, std::string(8, '\0'));
  auto file = SafetensorsFile::Open(path);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(file.status().message().find("tensor 'w'"), std::string::npos) << file.status();
  EXPECT_NE(file.status().message().find("outside the 8 data bytes"), std::string::npos);
}

TEST_F(SafetensorsTest, OffsetsThatDisagreeWithShapeNameTheTensor) {
  std::string header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  std::string path = WriteRaw("shape.safetensors", header, std::string(8, '\0'));
  auto file = SafetensorsFile::Open(path);
  EXPECT_NE(file.status().message().find("tensor 'w': data_offsets [0, 8] hold 8 bytes but shape "
                                         "and dtype need 12"),
            std::string::npos)
      << file.status();
}

TEST_F(SafetensorsTest, OverlappingOffsetsAreReported) {
  std::string header = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})";
  std::string path = WriteRaw("overlap.safetensors", header, std::string(6, '\0'));
  auto file = SafetensorsFile::Open(path);
  EXPECT_NE(file.status().message().find("tensor 'b': data_offsets begin at 2 where 4 was expected"),
            std::string::npos)
      << file.status();
}

TEST_F(SafetensorsTest, UndescribedTrailingBytesAreReported) {
  std::string header = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})";
  std::string path = WriteRaw("trailing.safetensors", header, std::string(5, '\0'));
  auto file = SafetensorsFile::Open(path);
  EXPECT_NE(file.status().message().find("3 bytes after the last tensor"), std::string::npos)
      << file.status();
}

TEST_F(SafetensorsTest, UnknownDtypeAndNegativeDimensionAreReported) {
  std::string path = WriteRaw("dtype.safetensors",
                              R"({"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})",
                              std::string(1, '\0'));
  EXPECT_NE(SafetensorsFile::Open(path).status().message().find("tensor 'a': unsupported dtype F8"),
            std::string::npos);
  path = WriteRaw("neg.safetensors", R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})",
                  std::string(1, '\0'));
  EXPECT_NE(SafetensorsFile::Open(path).status().message().find("negative or non-integer"),
            std::string::npos);
}

TEST_F(SafetensorsTest, WriterRejectsSizeMismatchAndDuplicates) {
  float data[2] = {1, 2};
  absl::Status s = WriteSafetensors(Path("bad.safetensors"),
                                    {{"w", TensorDtype::kF32, {3}, data, sizeof(data)}}, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tensor 'w': 8 bytes given but shape and dtype need 12"),
            std::string::npos);
  s = WriteSafetensors(Path("dup.safetensors"),
                       {{"w", TensorDtype::kF32, {2}, data, 8}, {"w", TensorDtype::kF32, {2}, data, 8}},
                       {});
  EXPECT_NE(s.message().find("duplicate tensor name 'w'"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(Path("dup.safetensors")));
}

}  // namespace
}  // namespace star
