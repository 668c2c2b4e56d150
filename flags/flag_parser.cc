#include "flags/flag_parser.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace star {

FlagParser::FlagParser(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void FlagParser::Add(Flag flag) { flags_.push_back(std::move(flag)); }

FlagParser::Flag* FlagParser::Find(std::string_view name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagParser::WasSet(std::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f.set;
  }
  return false;
}

void FlagParser::AddString(std::string name, std::string* value, std::string help,
                           bool required) {
  Flag f{.name = std::move(name),
         .help = std::move(help),
         .default_text = *value,
         .value_hint = "STRING",
         .required = required};
  f.assign = [value](std::string_view text) {
    *value = std::string(text);
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagParser::AddHostPort(std::string name, std::string* value, std::string help) {
  Flag f{.name = name, .help = std::move(help), .default_text = *value,
         .value_hint = "HOST:PORT"};
  f.assign = [value, name](std::string_view text) {
    size_t colon = text.rfind(':');
    int port = -1;
    bool ok = colon != std::string_view::npos && colon > 0 &&
              absl::SimpleAtoi(std::string(text.substr(colon + 1)), &port) && port >= 0 &&
              port <= 65535;
    std::string_view host = ok ? text.substr(0, colon) : std::string_view();
    if (ok && host.front() == '[') ok = host.size() > 2 && host.back() == ']';
    if (ok && host.front() != '[') ok = host.find_first_of(" /[]:") == std::string_view::npos;
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--%s: '%s' is not HOST:PORT (port 0-65535)", name, text));
    }
    *value = std::string(text);
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagParser::AddInt(std::string name, int64_t* value, std::string help, int64_t min,
                        int64_t max) {
  Flag f{.name = name, .help = std::move(help), .default_text = absl::StrCat(*value),
         .value_hint = "INT"};
  f.assign = [value, min, max, name](std::string_view text) {
    int64_t parsed = 0;
    if (!absl::SimpleAtoi(std::string(text), &parsed)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--%s: '%s' is not an integer", name, text));
    }
    if (parsed < min || parsed > max) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--%s: %d is out of range [%d, %d]", name, parsed, min, max));
    }
    *value = parsed;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagParser::AddDouble(std::string name, double* value, std::string help, double min,
                           double max) {
  Flag f{.name = name, .help = std::move(help), .default_text = absl::StrCat(*value),
         .value_hint = "NUMBER"};
  f.assign = [value, min, max, name](std::string_view text) {
    double parsed = 0;
    if (!absl::SimpleAtod(std::string(text), &parsed)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--%s: '%s' is not a number", name, text));
    }
    if (!(parsed >= min && parsed <= max)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--%s: %g is out of range [%g, %g]", name, parsed, min, max));
    }
    *value = parsed;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagParser::AddBool(std::string name, bool* value, std::string help) {
  Flag f{.name = name, .help = std::move(help), .default_text = *value ? "true" : "false",
         .is_bool = true};
  f.assign = [value, name](std::string_view text) {
    if (text == "true" || text == "1") {
      *value = true;
    } else if (text == "false" || text == "0") {
      *value = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrFormat("--%s: '%s' is not true or false", name, text));
    }
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagParser::AddStringList(std::string name, std::vector<std::string>* values,
                               std::string help) {
  Flag f{.name = std::move(name),
         .help = std::move(help),
         .default_text = values->empty() ? "none" : absl::StrJoin(*values, ", "),
         .value_hint = "STRING (repeatable)"};
  f.assign = [values, replaced = false](std::string_view text) mutable {
    if (!replaced) values->clear();
    replaced = true;
    values->emplace_back(text);
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagParser::AddPositional(std::string name, std::string* value, std::string help,
                               bool required) {
  positionals_.push_back(Positional{.name = std::move(name),
                                    .help = std::move(help),
                                    .required = required,
                                    .value = value});
}

absl::Status FlagParser::Parse(int argc, const char* const* argv, int first) {
  size_t next_positional = 0;
  bool only_positionals = false;
  for (int i = first; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!only_positionals && arg == "--") {
      only_positionals = true;
      continue;
    }
    if (!only_positionals && (arg == "--help" || arg == "-h")) {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (only_positionals || arg.size() < 2 || arg[0] != '-') {
      if (next_positional >= positionals_.size()) {
        return absl::InvalidArgumentError(absl::StrFormat("unexpected argument '%s'", arg));
      }
      *positionals_[next_positional++].value = std::string(arg);
      continue;
    }
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown flag %s (flags are spelled --name)", arg));
    }
    std::string_view body = arg.substr(2);
    std::string_view name = body;
    std::string_view value;
    bool has_inline_value = false;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_inline_value = true;
    }
    Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrFormat("unknown flag --%s", name));
    }
    if (!has_inline_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrFormat("--%s needs a value", name));
      } else {
        value = argv[++i];
      }
    }
    if (absl::Status s = flag->assign(value); !s.ok()) return s;
    flag->set = true;
  }
  for (const Flag& f : flags_) {
    if (f.required && !f.set) {
      return absl::InvalidArgumentError(absl::StrFormat("--%s is required", f.name));
    }
  }
  for (size_t p = next_positional; p < positionals_.size(); ++p) {
    if (positionals_[p].required) {
      return absl::InvalidArgumentError(
          absl::StrFormat("missing argument %s", positionals_[p].name));
    }
  }
  return absl::OkStatus();
}

void FlagParser::ParseOrExit(int argc, const char* const* argv, int first) {
  absl::Status status = Parse(argc, argv, first);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program_.c_str(),
                 std::string(status.message()).c_str());
    std::exit(2);
  }
  if (help_requested_) {
    std::fputs(Usage().c_str(), stdout);
    std::exit(0);
  }
}

void FlagParser::ExitWithFlagError(absl::string_view name, absl::string_view message) const {
  std::fprintf(stderr, "%s: --%s: %s\n", program_.c_str(), std::string(name).c_str(),
               std::string(message).c_str());
  std::exit(2);
}

std::string FlagParser::Usage() const {
  std::string out = absl::StrCat(summary_, "\n\nUsage: ", program_, " [flags]");
  for (const Positional& p : positionals_) {
    absl::StrAppend(&out, p.required ? " " : " [", p.name, p.required ? "" : "]");
  }
  absl::StrAppend(&out, "\n");
  if (!positionals_.empty()) {
    absl::StrAppend(&out, "\nArguments:\n");
    for (const Positional& p : positionals_) {
      absl::StrAppend(&out, absl::StrFormat("  %-26s %s\n", p.name, p.help));
    }
  }
  absl::StrAppend(&out, "\nFlags:\n");
  for (const Flag& f : flags_) {
    std::string left = absl::StrCat("--", f.name, f.is_bool ? "" : absl::StrCat(" ", f.value_hint));
    std::string right = f.help;
    if (f.required) {
      absl::StrAppend(&right, " (required)");
    } else if (!f.default_text.empty()) {
      absl::StrAppend(&right, " (default: ", f.default_text, ")");
    }
    absl::StrAppend(&out, absl::StrFormat("  %-26s %s\n", left, right));
  }
  absl::StrAppend(&out, absl::StrFormat("  %-26s %s\n", "--help", "show this help and exit"));
  return out;
}

}  // namespace star
