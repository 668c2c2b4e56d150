#include "coordinator/job_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "model/compute_device.h"
#include "tasks/task_suite.h"
#include "yaml-cpp/yaml.h"

namespace star {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

struct Context {
  const std::string& source;
};

absl::Status Error(const Context& ctx, const YAML::Node& node, const std::string& path,
                   const std::string& what) {
  std::string line = node.Mark().line >= 0 ? absl::StrCat(":", node.Mark().line + 1) : "";
  return absl::InvalidArgumentError(absl::StrCat(ctx.source, line, ": ", path, ": ", what));
}

std::string Join(const std::string& path, const std::string& name) {
  return path.empty() ? name : absl::StrCat(path, ".", name);
}

std::string KnownKeys(const google::protobuf::Descriptor* d) {
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
  return absl::StrJoin(names, ", ");
}

absl::Status SetScalar(const Context& ctx, const YAML::Node& node, const std::string& path,
                       Message& msg, const FieldDescriptor* f) {
  const Reflection* r = msg.GetReflection();
  if (!node.IsScalar()) return Error(ctx, node, path, "must be a single value");
  const std::string text = node.Scalar();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(&msg, f, text);
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (text == "true" || text == "false") {
        r->SetBool(&msg, f, text == "true");
        return absl::OkStatus();
      }
      return Error(ctx, node, path, absl::StrCat("'", text, "' is not true or false"));
    }
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v = 0;
      if (!absl::SimpleAtoi(text, &v) || (!text.empty() && text[0] == '-')) {
        return Error(ctx, node, path, absl::StrCat("'", text, "' is not a non-negative integer"));
      }
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
        if (v > std::numeric_limits<uint32_t>::max()) {
          return Error(ctx, node, path, absl::StrCat(text, " is too large"));
        }
        r->SetUInt32(&msg, f, static_cast<uint32_t>(v));
      } else {
        r->SetUInt64(&msg, f, v);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) {
        return Error(ctx, node, path, absl::StrCat("'", text, "' is not an integer"));
      }
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
        if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
          return Error(ctx, node, path, absl::StrCat(text, " is out of range"));
        }
        r->SetInt32(&msg, f, static_cast<int32_t>(v));
      } else {
        r->SetInt64(&msg, f, v);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v = 0;
      if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
        return Error(ctx, node, path, absl::StrCat("'", text, "' is not a finite number"));
      }
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        r->SetFloat(&msg, f, static_cast<float>(v));
      } else {
        r->SetDouble(&msg, f, v);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      // Value names are matched regardless of case ("columns" names COLUMNS).
      const auto* value = f->enum_type()->FindValueByName(absl::AsciiStrToUpper(text));
      if (value == nullptr) {
        std::vector<std::string> known;
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          known.push_back(absl::AsciiStrToLower(f->enum_type()->value(i)->name()));
        }
        return Error(ctx, node, path,
                     absl::StrCat("'", text, "' is not a known value (known: ",
                                  absl::StrJoin(known, ", "), ")"));
      }
      r->SetEnum(&msg, f, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return Error(ctx, node, path, "unsupported field type");
}

// A list of non-negative integers ("[40, 120]") into a repeated uint32 field, the only kind of
// list a job spec has.
absl::Status AddCounts(const Context& ctx, const YAML::Node& key_node, const YAML::Node& node,
                       const std::string& path, Message& msg, const FieldDescriptor* f) {
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_UINT32) {
    return Error(ctx, key_node, path, "lists are not supported here");
  }
  if (!node.IsSequence()) return Error(ctx, node, path, "must be a list of counts, e.g. [40, 120]");
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = absl::StrCat(path, "[", i, "]");
    const std::string text = node[i].IsScalar() ? node[i].Scalar() : "";
    uint32_t v = 0;
    if (!absl::SimpleAtoi(text, &v) || text.empty() || text[0] == '-') {
      return Error(ctx, node[i], item_path, absl::StrCat("'", text, "' is not a count"));
    }
    msg.GetReflection()->AddUInt32(&msg, f, v);
  }
  return absl::OkStatus();
}

absl::Status FillMessage(const Context& ctx, const YAML::Node& node, const std::string& path,
                         Message& msg) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) {
    return Error(ctx, node, path.empty() ? "job" : path, "must be a mapping of keys to values");
  }
  const google::protobuf::Descriptor* d = msg.GetDescriptor();
  for (const auto& entry : node) {
    const YAML::Node& key_node = entry.first;
    if (!key_node.IsScalar()) return Error(ctx, key_node, path.empty() ? "job" : path, "keys must be names");
    const std::string key = key_node.Scalar();
    const std::string field_path = Join(path, key);
    const FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) {
      return Error(ctx, key_node, field_path,
                   absl::StrCat("unknown key (known here: ", KnownKeys(d), ")"));
    }
    const YAML::Node& value = entry.second;
    if (f->is_repeated()) {
      if (absl::Status s = AddCounts(ctx, key_node, value, field_path, msg, f); !s.ok()) return s;
      continue;
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Message* child = msg.GetReflection()->MutableMessage(&msg, f);
      if (absl::Status s = FillMessage(ctx, value, field_path, *child); !s.ok()) return s;
    } else if (absl::Status s = SetScalar(ctx, value, field_path, msg, f); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Check(bool ok, const std::string& source, const std::string& field,
                   const std::string& what) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", field, ": ", what));
}

}  // namespace

star::v1::JobSpec DefaultJobSpec() {
  star::v1::JobSpec spec;
  spec.set_name("job");
  spec.set_iterations(8);
  spec.set_plateau_patience(0);
  spec.set_plateau_min_gain(0.005f);
  spec.set_shard_size(64);
  spec.set_lease_timeout_seconds(120);
  spec.set_seed(1);
  auto* gen = spec.mutable_generation();
  gen->set_max_new_tokens(160);
  gen->set_temperature(0);
  gen->set_top_p(1.0f);
  gen->set_samples_per_question(1);
  gen->set_batch_size(64);
  spec.mutable_filter()->set_rationalization(true);
  auto* train = spec.mutable_training();
  train->set_initial_steps(100);
  train->set_growth_percent(0);
  train->set_step_increment(20);
  train->set_learning_rate(1e-3f);
  train->set_warmup_steps(20);
  train->set_grad_clip(1.0f);
  train->set_weight_decay(0);
  train->set_global_batch_size(32);
  train->set_world_size(1);
  train->set_seed_steps(400);
  spec.mutable_compute()->set_device("auto");
  spec.mutable_compute()->set_precision("auto");
  return spec;
}

bool IsSafeFolderName(absl::string_view name) {
  return !name.empty() && name[0] != '.' && absl::c_all_of(name, [](char c) {
    return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}


absl::Status ValidateJobSpec(const star::v1::JobSpec& spec, const std::string& source) {
  absl::Status s;
  auto check = [&](bool ok, const std::string& field, const std::string& what) {
    if (s.ok()) s = Check(ok, source, field, what);
  };
  check(!spec.name().empty() && spec.name().size() <= 128, "name", "must be 1-128 characters");
  if (!spec.name().empty() && !IsSafeFolderName(spec.name())) {
    check(false, "name",
          absl::StrCat("'", absl::CHexEscape(spec.name().substr(0, 128)),
                       "' may hold only letters, digits, '.', '_' and '-', and not start with '.'"));
  }
  if (absl::Status task = ValidateTaskSpec(spec); s.ok() && !task.ok()) {
    s = absl::InvalidArgumentError(absl::StrCat(source, ": ", task.message()));
  }
  const auto& m = spec.model();
  check(!m.base_checkpoint().empty() || (!m.init_config().empty() && !m.init_tokenizer().empty()),
        "model", "needs base_checkpoint, or init_config and init_tokenizer");
  check(m.base_checkpoint().empty() || m.init_config().empty(), "model",
        "base_checkpoint and init_config exclude each other");
  check(m.base_checkpoint().size() <= kMaxSpecPathBytes, "model.base_checkpoint", "is too long");
  check(m.init_config().size() <= kMaxSpecPathBytes, "model.init_config", "is too long");
  check(m.init_tokenizer().size() <= kMaxSpecPathBytes, "model.init_tokenizer", "is too long");
  const auto& g = spec.generation();
  check(g.max_new_tokens() >= 1 && g.max_new_tokens() <= 8192, "generation.max_new_tokens",
        "must be 1-8192");
  check(g.temperature() >= 0 && g.temperature() <= 10, "generation.temperature", "must be 0-10");
  check(g.top_p() > 0 && g.top_p() <= 1, "generation.top_p", "must be in (0, 1]");
  check(g.samples_per_question() >= 1 && g.samples_per_question() <= 1024,
        "generation.samples_per_question", "must be 1-1024");
  check(g.samples_per_question() == 1 || g.temperature() > 0, "generation.samples_per_question",
        "more than one sample needs a temperature above 0");
  check(g.batch_size() >= 1 && g.batch_size() <= 4096, "generation.batch_size", "must be 1-4096");
  check(!g.add_greedy_sample() || g.temperature() > 0, "generation.add_greedy_sample",
        "needs a temperature above 0 (at temperature 0 every sample is greedy)");
  check(spec.filter().bucket_balance_max_repeat() <= 64, "filter.bucket_balance_max_repeat",
        "must be 0-64");
  const auto& t = spec.training();
  check(t.initial_steps() >= 1 && t.initial_steps() <= 1'000'000, "training.initial_steps",
        "must be 1-1000000");
  check(t.growth_percent() >= 0 && t.growth_percent() <= 1000, "training.growth_percent",
        "must be 0-1000");
  check(t.learning_rate() > 0 && t.learning_rate() <= 1, "training.learning_rate",
        "must be in (0, 1]");
  check(std::isfinite(t.grad_clip()) && t.grad_clip() >= 0, "training.grad_clip",
        "must be a finite number >= 0 (0: no clipping)");
  check(t.weight_decay() >= 0 && t.weight_decay() < 1, "training.weight_decay", "must be in [0, 1)");
  check(t.global_batch_size() >= 1 && t.global_batch_size() <= 65536,
        "training.global_batch_size", "must be 1-65536");
  check(t.world_size() >= 1 && t.world_size() <= 1024, "training.world_size", "must be 1-1024");
  // world_size 0 is reported above; the modulo must not divide by it.
  check(t.world_size() == 0 || t.global_batch_size() % t.world_size() == 0,
        "training.global_batch_size", "must be a multiple of training.world_size");
  const auto& compute = spec.compute();
  check(compute.device().empty() || compute.device() == "auto" || compute.device() == "cuda" ||
            compute.device() == "cpu",
        "compute.device",
        absl::StrCat("'", absl::CHexEscape(compute.device().substr(0, 64)),
                     "' is not auto, cuda or cpu"));
  check(ParsePrecision(compute.precision()).ok(), "compute.precision",
        absl::StrCat("'", absl::CHexEscape(compute.precision().substr(0, 64)),
                     "' is not auto, bf16 or fp32"));
  check(spec.iterations() >= 1 && spec.iterations() <= 1000, "iterations", "must be 1-1000");
  check(spec.plateau_min_gain() >= 0 && spec.plateau_min_gain() <= 1, "plateau_min_gain",
        "must be in [0, 1] (a fraction of the held-out questions)");
  check(spec.shard_size() >= 1 && spec.shard_size() <= 100'000, "shard_size", "must be 1-100000");
  check(spec.lease_timeout_seconds() >= 1 && spec.lease_timeout_seconds() <= 86400,
        "lease_timeout_seconds", "must be 1-86400");
  return s;
}

absl::StatusOr<star::v1::JobSpec> ParseJobYaml(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
  star::v1::JobSpec spec = DefaultJobSpec();
  Context ctx{source};
  try {
    if (absl::Status s = FillMessage(ctx, root, "", spec); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": ", e.msg));
  }
  if (absl::Status s = ValidateJobSpec(spec, source); !s.ok()) return s;
  return spec;
}

absl::StatusOr<star::v1::JobSpec> LoadJobFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseJobYaml(text.str(), path);
}

}  // namespace star
