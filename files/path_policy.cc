#include "files/path_policy.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "files/excerpt.h"

namespace star {

namespace fs = std::filesystem;

bool LiesUnder(std::string_view dir, std::string_view path) {
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  if (path.substr(0, dir.size()) != dir) return false;
  if (path.size() == dir.size()) return true;
  return dir == "/" || path[dir.size()] == '/';
}

absl::StatusOr<PathPolicy> PathPolicy::Create(const std::vector<std::string>& roots,
                                              const std::string& flag) {
  std::vector<std::string> resolved;
  for (const std::string& root : roots) {
    std::error_code ec;
    if (root.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": an empty root"));
    const fs::path path = fs::canonical(root, ec);
    if (ec || !fs::is_directory(path, ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " ", root, ": not an existing directory",
                       ec ? absl::StrCat(" (", ec.message(), ")") : ""));
    }
    resolved.push_back(path.string());
  }
  if (resolved.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": no root given"));
  return PathPolicy(std::move(resolved));
}

absl::StatusOr<std::string> PathPolicy::Check(const std::string& field, const std::string& path,
                                              const std::string& resolved) const {
  for (const std::string& root : roots_) {
    if (LiesUnder(root, resolved)) return resolved;
  }
  return absl::PermissionDeniedError(absl::StrCat(
      field, ": '", Excerpt(path, 200), "' resolves to '", Excerpt(resolved, 200),
      "', outside the data roots (", absl::StrJoin(roots_, ", "),
      "); start the process with --data-root naming a folder that holds it"));
}

absl::StatusOr<std::string> PathPolicy::ConfineExisting(const std::string& field,
                                                        const std::string& path) const {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": an empty path"));
  if (path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": a path with a NUL byte"));
  }
  std::error_code ec;
  const fs::path resolved = fs::canonical(path, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat(field, ": '", Excerpt(path, 200), "' cannot be resolved: ", ec.message()));
  }
  return Check(field, path, resolved.string());
}

absl::StatusOr<std::string> PathPolicy::ConfineFolder(const std::string& field,
                                                      const std::string& path) const {
  absl::StatusOr<std::string> folder = ConfineExisting(field, path);
  if (!folder.ok()) return folder.status();
  std::error_code ec;
  if (!fs::is_directory(*folder, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": '", Excerpt(path, 200), "' is not a folder"));
  }
  for (fs::directory_iterator it(*folder, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path resolved = fs::canonical(it->path(), ec);
    if (ec) {
      ec.clear();
      continue;  // a dangling link: reading it fails on its own, naming the file
    }
    absl::StatusOr<std::string> entry =
        Check(absl::StrCat(field, " (", it->path().filename().string(), ")"),
              it->path().string(), resolved.string());
    if (!entry.ok()) return entry.status();
  }
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat(field, ": '", Excerpt(path, 200), "' cannot be listed: ", ec.message()));
  }
  return folder;
}

absl::StatusOr<std::string> PathPolicy::ConfineForWriting(const std::string& field,
                                                          const std::string& path) const {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": an empty path"));
  if (path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": a path with a NUL byte"));
  }
  // The longest prefix that exists is resolved; what follows must be plain names.
  fs::path existing = fs::absolute(fs::path(path));
  fs::path rest;
  std::error_code ec;
  while (!fs::exists(fs::symlink_status(existing, ec)) && existing.has_relative_path()) {
    rest = rest.empty() ? existing.filename() : existing.filename() / rest;
    existing = existing.parent_path();
  }
  for (const fs::path& part : rest) {
    if (part == ".." || part == ".") {
      return absl::PermissionDeniedError(absl::StrCat(
          field, ": '", Excerpt(path, 200), "' has '", part.string(), "' after its existing part"));
    }
  }
  const fs::path base = fs::canonical(existing, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat(field, ": '", Excerpt(path, 200), "' cannot be resolved: ", ec.message()));
  }
  return Check(field, path, (rest.empty() ? base : base / rest).string());
}

}  // namespace star
