#ifndef STAR_MODEL_SAFETENSORS_H_
#define STAR_MODEL_SAFETENSORS_H_

// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__" map of
// strings), then the raw little-endian tensor bytes. Torch-free.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace star {

enum class TensorDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

// "F32", "BF16", ... as safetensors spells them.
const char* TensorDtypeName(TensorDtype dtype);
size_t TensorDtypeSize(TensorDtype dtype);

// A tensor inside an open file. `data` points into the file's mapping and stays valid while
// the SafetensorsFile lives.
struct TensorView {
  std::string name;
  TensorDtype dtype;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;
  size_t size_bytes = 0;

  int64_t NumElements() const;
};

// A safetensors file mapped read-only into memory: tensors are read without copying until the
// caller copies them once into its own storage. Immutable after Open(); thread-safe.
class SafetensorsFile {
 public:
  // Opens and validates `path`. Errors (kInvalidArgument unless said otherwise) name the file
  // and, where one is at fault, the tensor: kNotFound for a missing file; a file shorter than
  // its header; a header that is not a JSON object; an unknown dtype; a negative or
  // non-integer dimension; data_offsets whose length differs from shape x dtype size, that
  // overlap, leave gaps or run past the end of the file.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);

  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  // Tensors in the order of their data in the file.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // nullptr when absent.
  const TensorView* Find(absl::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;

  std::string path_;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: `data` (size_bytes long, little-endian) must stay valid during the call.
struct TensorToWrite {
  std::string name;
  TensorDtype dtype;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t size_bytes = 0;
};

// Writes a safetensors file atomically (a temporary file renamed into place). Tensors are laid
// out in name order; the header is padded with spaces to a multiple of 8 bytes so that data
// starts aligned. kInvalidArgument for duplicate names or a size that does not match the
// shape; kInternal naming the path when writing fails.
absl::Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                              const std::map<std::string, std::string>& metadata);

// Parses only the header bytes (8-byte length + JSON) of a file already in memory, for
// validation and fuzzing; `source` names it in errors. On success fills `tensors` (data
// pointers into `bytes`) and `metadata`.
absl::Status ParseSafetensors(const std::byte* bytes, size_t size, absl::string_view source,
                              std::vector<TensorView>* tensors,
                              std::map<std::string, std::string>* metadata);

}  // namespace star

#endif  // STAR_MODEL_SAFETENSORS_H_
