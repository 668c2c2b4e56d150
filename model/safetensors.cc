#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "files/excerpt.h"
#include "nlohmann/json.hpp"

namespace star {
namespace {

using Json = nlohmann::json;

// Headers larger than this are refused (the Rust implementation uses the same bound).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  TensorDtype dtype;
  const char* name;
  size_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {TensorDtype::kF64, "F64", 8}, {TensorDtype::kF32, "F32", 4}, {TensorDtype::kF16, "F16", 2},
    {TensorDtype::kBF16, "BF16", 2}, {TensorDtype::kI64, "I64", 8}, {TensorDtype::kI32, "I32", 4},
    {TensorDtype::kI16, "I16", 2}, {TensorDtype::kI8, "I8", 1}, {TensorDtype::kU8, "U8", 1},
    {TensorDtype::kBool, "BOOL", 1},
};

absl::Status Invalid(absl::string_view source, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
}

uint64_t ReadLittleEndian64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

const char* TensorDtypeName(TensorDtype dtype) {
  for (const DtypeInfo& d : kDtypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

size_t TensorDtypeSize(TensorDtype dtype) {
  for (const DtypeInfo& d : kDtypes) {
    if (d.dtype == dtype) return d.size;
  }
  return 0;
}

int64_t TensorView::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::Status ParseSafetensors(const std::byte* bytes, size_t size, absl::string_view source,
                              std::vector<TensorView>* tensors,
                              std::map<std::string, std::string>* metadata) {
  if (size < 8) {
    return Invalid(source, absl::StrFormat("truncated: %d bytes, shorter than the 8-byte header "
                                           "length", size));
  }
  uint64_t header_len = ReadLittleEndian64(bytes);
  if (header_len > kMaxHeaderBytes || header_len > size - 8) {
    return Invalid(source, absl::StrFormat("truncated or corrupt: header length %d exceeds the "
                                           "%d bytes after it", header_len, size - 8));
  }
  const char* header = reinterpret_cast<const char*>(bytes + 8);
  Json j = Json::parse(header, header + header_len, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Invalid(source, "header is not a JSON object");
  }
  const std::byte* data = bytes + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  struct Span {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Span> spans;
  tensors->clear();
  metadata->clear();
  for (auto& [name, entry] : j.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return Invalid(source, "__metadata__ is not a map of strings");
      for (auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          return Invalid(source,
                         absl::StrCat("__metadata__ value for '", Excerpt(key), "' is not a string"));
        }
        (*metadata)[key] = value.get<std::string>();
      }
      continue;
    }
    // A named copy: lambdas may not capture structured bindings before C++20 in every compiler
    // (clang 14, which builds the fuzzers).
    const std::string& tensor_name = name;
    auto fail = [&](absl::string_view what) {
      return Invalid(source, absl::StrCat("tensor '", Excerpt(tensor_name), "': ", what));
    };
    if (!entry.is_object()) return fail("entry is not an object");
    auto dtype_it = entry.find("dtype");
    if (dtype_it == entry.end() || !dtype_it->is_string()) return fail("dtype missing");
    const DtypeInfo* info = nullptr;
    for (const DtypeInfo& d : kDtypes) {
      if (*dtype_it == d.name) info = &d;
    }
    if (info == nullptr) {
      return fail(absl::StrCat("unsupported dtype ", Excerpt(dtype_it->get<std::string>())));
    }
    auto shape_it = entry.find("shape");
    if (shape_it == entry.end() || !shape_it->is_array()) return fail("shape missing");
    TensorView view;
    view.name = name;
    view.dtype = info->dtype;
    uint64_t numel = 1;
    for (const Json& dim : *shape_it) {
      if (!dim.is_number_unsigned()) return fail("shape has a negative or non-integer dimension");
      uint64_t d = dim.get<uint64_t>();
      if (d != 0 && numel > UINT64_MAX / d) return fail("shape overflows");
      numel *= d;
      view.shape.push_back(static_cast<int64_t>(d));
    }
    auto offsets_it = entry.find("data_offsets");
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
        !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
      return fail("data_offsets must be [begin, end]");
    }
    uint64_t begin = (*offsets_it)[0].get<uint64_t>();
    uint64_t end = (*offsets_it)[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return fail(absl::StrFormat("data_offsets [%d, %d] lie outside the %d data bytes "
                                  "(truncated file?)", begin, end, data_size));
    }
    if (numel > UINT64_MAX / info->size || end - begin != numel * info->size) {
      return fail(absl::StrFormat("data_offsets [%d, %d] hold %d bytes but shape and dtype need "
                                  "%d", begin, end, end - begin, numel * info->size));
    }
    view.data = data + begin;
    view.size_bytes = static_cast<size_t>(end - begin);
    spans.push_back({begin, end, tensors->size()});
    tensors->push_back(std::move(view));
  }
  // The data must be covered exactly: no overlaps, no holes.
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  uint64_t expected = 0;
  for (const Span& s : spans) {
    if (s.begin != expected) {
      return Invalid(source, absl::StrFormat("tensor '%s': data_offsets begin at %d where %d was "
                                             "expected (overlapping or gapped data)",
                                             (*tensors)[s.index].name, s.begin, expected));
    }
    expected = s.end;
  }
  if (expected != data_size) {
    return Invalid(source, absl::StrFormat("%d bytes after the last tensor are not described by "
                                           "the header", data_size - expected));
  }
  std::vector<TensorView> ordered;
  ordered.reserve(spans.size());
  for (const Span& s : spans) ordered.push_back(std::move((*tensors)[s.index]));
  *tensors = std::move(ordered);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::Status(errno == ENOENT ? absl::StatusCode::kNotFound
                                        : absl::StatusCode::kPermissionDenied,
                        absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return absl::InternalError(absl::StrCat(path, ": cannot stat"));
  }
  // Mapped, so its size is what it is: only a regular file (a /proc file reports 0 and is
  // refused as truncated, a device or FIFO is not opened at all).
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": is not a regular file"));
  }
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapping_size_ = static_cast<size_t>(st.st_size);
  if (file->mapping_size_ > 0) {
    void* m = ::mmap(nullptr, file->mapping_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      ::close(fd);
      return absl::InternalError(absl::StrCat(path, ": cannot map: ", std::strerror(errno)));
    }
    file->mapping_ = m;
  }
  ::close(fd);
  absl::Status s = ParseSafetensors(static_cast<const std::byte*>(file->mapping_),
                                    file->mapping_size_, path, &file->tensors_, &file->metadata_);
  if (!s.ok()) return s;
  for (size_t i = 0; i < file->tensors_.size(); ++i) file->index_[file->tensors_[i].name] = i;
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

const TensorView* SafetensorsFile::Find(absl::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

absl::Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> order;
  for (const TensorToWrite& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const TensorToWrite* a, const TensorToWrite* b) { return a->name < b->name; });
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::set<std::string> names;
  for (const TensorToWrite* t : order) {
    if (!names.insert(t->name).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate tensor name '", t->name, "'"));
    }
    uint64_t numel = 1;
    for (int64_t d : t->shape) numel *= static_cast<uint64_t>(d);
    if (numel * TensorDtypeSize(t->dtype) != t->size_bytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tensor '%s': %d bytes given but shape and dtype need %d", t->name, t->size_bytes,
          numel * TensorDtypeSize(t->dtype)));
    }
    header[t->name] = {{"dtype", TensorDtypeName(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->size_bytes}}};
    offset += t->size_bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string tmp = absl::StrCat(path, ".tmp");
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return absl::InternalError(absl::StrCat(tmp, ": cannot create: ", std::strerror(errno)));
  }
  unsigned char len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  bool ok = std::fwrite(len, 1, 8, f) == 8 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (const TensorToWrite* t : order) {
    if (!ok) break;
    ok = t->size_bytes == 0 || std::fwrite(t->data, 1, t->size_bytes, f) == t->size_bytes;
  }
  ok = (std::fflush(f) == 0) && ok;
  ok = (::fsync(::fileno(f)) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InternalError(absl::StrCat(path, ": write failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace star
