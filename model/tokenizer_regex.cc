#include "model/tokenizer_regex.h"

#include <algorithm>
#include <array>
#include <queue>
#include <unordered_set>

#include "files/excerpt.h"

namespace star::tokenizer_internal {

std::string_view CategoryAdditions(std::string_view category) {
  for (const CategoryAddition& addition : kUnicode16Additions) {
    if (addition.category == category) return addition.ranges;
  }
  return std::string_view();
}

std::string CategoryClassBody(std::string_view name) {
  return absl::StrCat("\\p{", Sv(name), "}", Sv(CategoryAdditions(name)));
}

std::string CategoryClass(std::string_view name, bool negated) {
  if (CategoryAdditions(name).empty()) {
    return absl::StrCat(negated ? "\\P{" : "\\p{", Sv(name), "}");
  }
  return absl::StrCat(negated ? "[^" : "[", CategoryClassBody(name), "]");
}

std::string WordClassBody(bool in_class) {
  return absl::StrCat(CategoryClassBody("L"), CategoryClassBody("M"), CategoryClassBody("Nd"),
                      CategoryClassBody("Pc"), Sv(kWordClassExtras),
                      in_class ? "" : Sv(kWordClassLatin1Extras));
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

absl::StatusOr<std::string> TranslateOnigurumaBody(std::string_view p) {
  const std::string word_body = WordClassBody(/*in_class=*/false);
  const std::string word_body_in_class = WordClassBody(/*in_class=*/true);
  const std::string whitespace_body(kWhitespaceClassBody);
  std::string out;
  out.reserve(p.size() * 2);
  bool in_class = false;
  size_t i = 0;
  while (i < p.size()) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return absl::InvalidArgumentError("ends with a lone backslash");
      const char e = p[i + 1];
      switch (e) {
        case 's':
        case 'S':
        case 'w':
        case 'W': {
          const bool negated = e == 'S' || e == 'W';
          const std::string& body = e == 's' || e == 'S' ? whitespace_body
                                    : in_class           ? word_body_in_class
                                                         : word_body;
          if (in_class && negated) {
            return absl::UnimplementedError(absl::StrCat(
                "\\", std::string(1, e), " inside a character class is not supported"));
          }
          out += in_class ? body : absl::StrCat(negated ? "[^" : "[", body, "]");
          i += 2;
          continue;
        }
        case 'd':
        case 'D':
        case 'p':
        case 'P': {
          // A general category (or script): \d is Decimal_Number; \p{^X} is \P{X}.
          bool negated = e == 'D' || e == 'P';
          std::string name = "Nd";
          size_t end = i + 2;
          if (e == 'p' || e == 'P') {
            if (i + 2 >= p.size()) return absl::InvalidArgumentError("ends inside a \\p escape");
            if (p[i + 2] != '{') {
              // Oniguruma reads `\pL` as the letters "pL".
              out += e;
              i += 2;
              continue;
            }
            end = p.find('}', i + 2);
            if (end == std::string_view::npos) {
              return absl::InvalidArgumentError("has an unterminated \\p{...}");
            }
            name = std::string(p.substr(i + 3, end - i - 3));
            ++end;
            if (name.starts_with("^")) {
              negated = !negated;
              name.erase(0, 1);
            }
          }
          if (!in_class) {
            out += CategoryClass(name, negated);
          } else if (negated) {
            // RE2 has no class subtraction, so a negated category inside a class keeps
            // RE2's (Unicode 15.0) extent.
            absl::StrAppend(&out, "\\P{", name, "}");
          } else {
            out += CategoryClassBody(name);
          }
          i = end;
          continue;
        }
        case 'u': {
          if (i + 6 > p.size() || !IsHexDigit(p[i + 2]) || !IsHexDigit(p[i + 3]) ||
              !IsHexDigit(p[i + 4]) || !IsHexDigit(p[i + 5])) {
            return absl::InvalidArgumentError("has a \\u escape without four hex digits");
          }
          absl::StrAppend(&out, "\\x{", Sv(p.substr(i + 2, 4)), "}");
          i += 6;
          continue;
        }
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'R':
        case 'X':
        case 'N':
        case 'O':
        case 'K':
        case 'G':
        case 'Z':
        case 'y':
        case 'Y':
        case 'k':
        case 'g':
          return absl::UnimplementedError(
              absl::StrCat("the escape \\", std::string(1, e), " is not supported"));
        default:
          if (e >= '1' && e <= '9') {
            return absl::UnimplementedError("backreferences are not supported");
          }
          out += '\\';
          const size_t length = CharLengthAt(p, i + 1);
          out.append(p.substr(i + 1, length));
          i += 1 + length;
          continue;
      }
    }
    if (in_class) {
      if (c == '[') {
        return absl::UnimplementedError(
            "nested character classes (including [[:alpha:]]) are not supported");
      }
      if (c == '&' && i + 1 < p.size() && p[i + 1] == '&') {
        return absl::UnimplementedError("character class intersection (&&) is not supported");
      }
      if (c == ']') in_class = false;
      out += c;
      ++i;
      continue;
    }
    switch (c) {
      case '[':
        in_class = true;
        out += '[';
        ++i;
        if (i < p.size() && p[i] == '^') {
          out += '^';
          ++i;
        }
        if (i < p.size() && p[i] == ']') {  // a leading ']' is literal
          out += "\\]";
          ++i;
        }
        continue;
      case '^':
        out += "(?m:^)";  // Oniguruma's anchors always work per line
        ++i;
        continue;
      case '$':
        out += "(?m:$)";
        ++i;
        continue;
      case '(':
        break;
      default:
        out += c;
        ++i;
        continue;
    }
    // A group.
    if (i + 1 >= p.size() || p[i + 1] != '?') {
      out += "(?:";
      ++i;
      continue;
    }
    const std::string_view rest = p.substr(i + 2);
    if (rest.starts_with("=") || rest.starts_with("!")) {
      return absl::UnimplementedError(
          absl::StrCat("lookahead (?", Sv(rest.substr(0, 1)),
                       " is not supported (only a trailing \\s+(?!\\S)|\\s+)"));
    }
    if (rest.starts_with("<=") || rest.starts_with("<!")) {
      return absl::UnimplementedError("lookbehind is not supported");
    }
    if (rest.starts_with(">")) {
      return absl::UnimplementedError("atomic groups (?> are not supported");
    }
    if (rest.starts_with("#")) {
      const size_t end = p.find(')', i);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError("has an unterminated comment");
      }
      i = end + 1;
      continue;
    }
    if (rest.starts_with("<") || rest.starts_with("'") || rest.starts_with("P<")) {
      const char close = rest[0] == '\'' ? '\'' : '>';
      const size_t end = p.find(close, i + 3);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError("has an unterminated group name");
      }
      out += "(?:";
      i = end + 1;
      continue;
    }
    // Option letters, e.g. (?i) or (?i:...). Oniguruma's `m` is RE2's `s` (dot matches \n).
    size_t j = i + 2;
    std::string flags;
    while (j < p.size() && (std::isalpha(static_cast<unsigned char>(p[j])) || p[j] == '-')) {
      const char flag = p[j];
      if (flag == 'i' || flag == '-') {
        flags += flag;
      } else if (flag == 'm') {
        flags += 's';
      } else {
        return absl::UnimplementedError(
            absl::StrCat("the option (?", std::string(1, flag), ") is not supported"));
      }
      ++j;
    }
    if (j >= p.size() || (p[j] != ':' && p[j] != ')')) {
      return absl::InvalidArgumentError("has a malformed (? group");
    }
    absl::StrAppend(&out, "(?", flags, std::string(1, p[j]));
    i = j + 1;
  }
  if (in_class) return absl::InvalidArgumentError("has an unterminated character class");
  return out;
}

}  // namespace star::tokenizer_internal
