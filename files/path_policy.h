#ifndef STAR_FILES_PATH_POLICY_H_
#define STAR_FILES_PATH_POLICY_H_

// Which paths a request may name: the one place that decides it.
//
// A process is started with data roots (`--data-root DIR`, repeatable). Every file or folder
// a request names (a job's checkpoints, tokenizer, question files; a shard's checkpoint; a
// training round's input and output models) is resolved, following every symbolic link, and
// must lie under one of them; otherwise the request is refused with PERMISSION_DENIED naming
// the field, the path and the roots.
//
//   absl::StatusOr<PathPolicy> policy = PathPolicy::Create({"/data", state_dir});
//   absl::StatusOr<std::string> file = policy->ConfineExisting("model.init_config", path);

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace star {

class PathPolicy {
 public:
  // Each root must be an existing directory; it is resolved (symlinks, "..", relative to the
  // working directory) once, here. Errors are INVALID_ARGUMENT naming `flag` and the root.
  static absl::StatusOr<PathPolicy> Create(const std::vector<std::string>& roots,
                                           const std::string& flag = "--data-root");

  // `path` resolved (it must exist) when it lies under a root. NOT_FOUND when it does not
  // exist, PERMISSION_DENIED when it lies outside every root; both name `field`.
  absl::StatusOr<std::string> ConfineExisting(const std::string& field, const std::string& path) const;

  // A folder that will be read as a whole (a model checkpoint): the folder and every entry in
  // it, each resolved, must lie under a root (a link in it to a file elsewhere is refused
  // naming the entry). Returns the resolved folder.
  absl::StatusOr<std::string> ConfineFolder(const std::string& field, const std::string& path) const;

  // For a path about to be written (it need not exist): its existing part is resolved, the rest
  // taken as written ("..", "." refused there), and the result must lie under a root.
  absl::StatusOr<std::string> ConfineForWriting(const std::string& field, const std::string& path) const;

  // The resolved roots, in the order given.
  const std::vector<std::string>& roots() const { return roots_; }

 private:
  explicit PathPolicy(std::vector<std::string> roots) : roots_(std::move(roots)) {}
  absl::StatusOr<std::string> Check(const std::string& field, const std::string& path,
                                    const std::string& resolved) const;

  std::vector<std::string> roots_;
};

// Whether `path` equals `dir` or lies below it, comparing whole components of the two paths as
// written (no filesystem access: both are expected resolved and absolute).
bool LiesUnder(std::string_view dir, std::string_view path);

}  // namespace star

#endif  // STAR_FILES_PATH_POLICY_H_
