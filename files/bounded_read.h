#ifndef STAR_FILES_BOUNDED_READ_H_
#define STAR_FILES_BOUNDED_READ_H_

// Reading a whole file that someone else named, with a byte limit enforced while reading.
//
// The size a file reports is not trusted: /proc files report 0 and grow as they are read, a
// FIFO or a device never ends. Only regular files are opened (a FIFO would block the reader
// before any limit applies), and reading stops with an error at the first byte past the limit.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace star {

// The whole of `path`, at most `max_bytes` long. Errors name the path: NOT_FOUND (missing),
// PERMISSION_DENIED (unreadable), INVALID_ARGUMENT (not a regular file, or longer than
// `max_bytes`, saying the limit).
absl::StatusOr<std::string> ReadFileBounded(const std::string& path, uint64_t max_bytes);

}  // namespace star

#endif  // STAR_FILES_BOUNDED_READ_H_
