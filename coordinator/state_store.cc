#include "coordinator/state_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "coordinator/await_answer.h"

namespace star {
namespace {

// Bumped when the schema changes; a database with a larger version is refused.
constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY,
  status BLOB NOT NULL,             -- star.v1.JobStatus, spec and results included
  updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS shards (
  shard_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  iteration INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  shard BLOB NOT NULL);             -- star.v1.Shard
CREATE INDEX IF NOT EXISTS shards_by_pass ON shards (job_id, iteration, kind);
CREATE TABLE IF NOT EXISTS completions (
  shard_id TEXT PRIMARY KEY,
  worker_id TEXT NOT NULL,
  completed_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS accepted (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  iteration INTEGER NOT NULL,
  question_id INTEGER NOT NULL,
  shard_id TEXT NOT NULL,
  prompt TEXT NOT NULL,
  completion TEXT NOT NULL,
  rationalized INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS accepted_by_iteration ON accepted (job_id, iteration);
CREATE TABLE IF NOT EXISTS evaluations (
  job_id TEXT NOT NULL,
  iteration INTEGER NOT NULL,
  question_id INTEGER NOT NULL,
  bucket TEXT NOT NULL,
  correct INTEGER NOT NULL,
  PRIMARY KEY (job_id, iteration, question_id));
CREATE TABLE IF NOT EXISTS rounds (
  round_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  iteration INTEGER NOT NULL,
  state TEXT NOT NULL,
  error TEXT NOT NULL,
  updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS marks (
  job_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (job_id, key));
)sql";

int64_t NowMillis() { return absl::ToUnixMillis(absl::Now()); }

// A prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Statement& Bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int index, const std::string& bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

}  // namespace

struct StateStore::CommitStatements {
  explicit CommitStatements(sqlite3* db)
      : complete(db,
                 "INSERT INTO completions (shard_id, worker_id, completed_ms) VALUES (?, ?, ?) "
                 "ON CONFLICT (shard_id) DO NOTHING"),
        accept(db,
               "INSERT INTO accepted (job_id, iteration, question_id, shard_id, prompt, "
               "completion, rationalized) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        evaluate(db,
                 "INSERT INTO evaluations (job_id, iteration, question_id, bucket, correct) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING") {}
  bool ok() const { return complete.ok() && accept.ok() && evaluate.ok(); }

  Statement complete;
  Statement accept;
  Statement evaluate;
};

struct StateStore::PendingCompletion {
  ShardCompletion completion;
  std::function<void(absl::StatusOr<bool>)> done;
  absl::StatusOr<bool> result = false;
};

std::string StateStore::PathIn(const std::string& state_dir) {
  return absl::StrCat(state_dir, "/coordinator.db");
}

StateStore::StateStore(sqlite3* db, std::string path) : path_(std::move(path)), db_(db) {}

StateStore::~StateStore() {
  std::thread committer;
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
    committer = std::move(committer_);
  }
  // The commit thread finishes what waits before it ends.
  if (committer.joinable()) committer.join();
  absl::MutexLock lock(&db_mu_);
  commit_statements_.reset();
  sqlite3_close_v2(db_);
}

absl::Status StateStore::Error(const std::string& what) const {
  return absl::InternalError(absl::StrFormat("%s: %s: %s", path_, what, sqlite3_errmsg(db_)));
}

absl::Status StateStore::Exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message == nullptr ? "unknown error" : message;
    sqlite3_free(message);
    return absl::InternalError(absl::StrFormat("%s: %s", path_, text));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db == nullptr ? sqlite3_errstr(rc) : sqlite3_errmsg(db);
    sqlite3_close_v2(db);
    return absl::InternalError(absl::StrFormat("%s: cannot open: %s", path, message));
  }
  std::unique_ptr<StateStore> store(new StateStore(db, path));
  absl::MutexLock lock(&store->db_mu_);
  sqlite3_busy_timeout(db, 10000);
  // WAL: readers (star export) never block the coordinator; synchronous=FULL: a commit is on
  // the disk when it returns.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    if (absl::Status s = store->Exec(pragma); !s.ok()) return s;
  }
  {
    Statement version(db, "PRAGMA user_version");
    if (!version.ok() || version.Step() != SQLITE_ROW) return store->Error("reading user_version");
    if (version.Int(0) > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: schema version %d is newer than this program's (%d)", path, version.Int(0),
          kSchemaVersion));
    }
  }
  if (absl::Status s = store->Exec(kSchema); !s.ok()) return s;
  if (absl::Status s = store->Exec(absl::StrCat("PRAGMA user_version=", kSchemaVersion)); !s.ok()) {
    return s;
  }
  if (absl::Status s = store->Exec(
          "INSERT INTO meta (key, value) VALUES ('epoch', 1) "
          "ON CONFLICT (key) DO UPDATE SET value = value + 1");
      !s.ok()) {
    return s;
  }
  Statement epoch(db, "SELECT value FROM meta WHERE key = 'epoch'");
  if (!epoch.ok() || epoch.Step() != SQLITE_ROW) return store->Error("reading the epoch");
  store->epoch_ = epoch.Int(0);
  return store;
}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::OpenReadOnly(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrFormat("%s does not exist", path));
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db == nullptr ? sqlite3_errstr(rc) : sqlite3_errmsg(db);
    sqlite3_close_v2(db);
    return absl::InternalError(absl::StrFormat("%s: cannot open: %s", path, message));
  }
  sqlite3_busy_timeout(db, 10000);
  return std::unique_ptr<StateStore>(new StateStore(db, path));
}

absl::Status StateStore::PutJob(const star::v1::JobStatus& status) {
  absl::MutexLock lock(&db_mu_);
  Statement put(db_,
                "INSERT INTO jobs (job_id, status, updated_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, "
                "updated_ms = excluded.updated_ms");
  put.Bind(1, status.job_id()).BindBlob(2, status.SerializeAsString()).Bind(3, NowMillis());
  if (!put.ok() || put.Step() != SQLITE_DONE) return Error("writing job " + status.job_id());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<star::v1::JobStatus>> StateStore::Jobs() const {
  absl::MutexLock lock(&db_mu_);
  Statement select(db_, "SELECT job_id, status FROM jobs ORDER BY rowid");
  if (!select.ok()) return Error("reading jobs");
  std::vector<star::v1::JobStatus> jobs;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    star::v1::JobStatus status;
    if (!status.ParseFromString(select.Text(1))) {
      return absl::DataLossError(
          absl::StrFormat("%s: job %s: stored status does not parse", path_, select.Text(0)));
    }
    jobs.push_back(std::move(status));
  }
  if (rc != SQLITE_DONE) return Error("reading jobs");
  return jobs;
}

absl::Status StateStore::AddShards(const std::vector<star::v1::Shard>& shards) {
  absl::MutexLock lock(&db_mu_);
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Statement insert(db_,
                   "INSERT INTO shards (shard_id, job_id, iteration, kind, shard) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT (shard_id) DO NOTHING");
  bool ok = insert.ok();
  for (const star::v1::Shard& shard : shards) {
    if (!ok) break;
    insert.Bind(1, shard.shard_id())
        .Bind(2, shard.job_id())
        .Bind(3, int64_t{shard.iteration()})
        .Bind(4, int64_t{shard.kind()})
        .BindBlob(5, shard.SerializeAsString());
    ok = insert.Step() == SQLITE_DONE;
    insert.Reset();
  }
  if (!ok) {
    absl::Status error = Error("recording shards");
    (void)Exec("ROLLBACK");
    return error;
  }
  return Exec("COMMIT");
}

absl::StatusOr<std::vector<StoredShard>> StateStore::ShardsOfPass(const std::string& job_id,
                                                                  uint32_t iteration,
                                                                  star::v1::ShardKind kind) const {
  absl::MutexLock lock(&db_mu_);
  Statement select(db_,
                   "SELECT s.shard_id, s.shard, c.shard_id IS NOT NULL FROM shards s "
                   "LEFT JOIN completions c ON c.shard_id = s.shard_id "
                   "WHERE s.job_id = ? AND s.iteration = ? AND s.kind = ? ORDER BY s.shard_id");
  select.Bind(1, job_id).Bind(2, int64_t{iteration}).Bind(3, int64_t{kind});
  if (!select.ok()) return Error("reading shards");
  std::vector<StoredShard> out;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    StoredShard stored;
    if (!stored.shard.ParseFromString(select.Text(1))) {
      return absl::DataLossError(
          absl::StrFormat("%s: shard %s: stored shard does not parse", path_, select.Text(0)));
    }
    stored.done = select.Int(2) != 0;
    out.push_back(std::move(stored));
  }
  if (rc != SQLITE_DONE) return Error("reading shards");
  return out;
}

absl::StatusOr<bool> StateStore::CompleteShard(ShardCompletion completion) {
  return AwaitAnswer<absl::StatusOr<bool>>(
      [&](auto done) { CompleteShardAsync(std::move(completion), done); });
}

void StateStore::CompleteShardAsync(ShardCompletion completion,
                                    std::function<void(absl::StatusOr<bool>)> done) {
  absl::MutexLock lock(&queue_mu_);
  queue_.push_back(PendingCompletion{.completion = std::move(completion), .done = std::move(done)});
  if (!committer_.joinable()) committer_ = std::thread([this] { CommitLoop(); });
}

void StateStore::CommitLoop() {
  std::vector<PendingCompletion> batch;
  while (true) {
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(
          +[](StateStore* store) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return store->stopping_ || !store->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, nothing left
      batch.swap(queue_);
    }
    CommitBatch(batch);
    for (PendingCompletion& p : batch) p.done(std::move(p.result));
    batch.clear();
  }
}

void StateStore::CommitBatch(std::vector<PendingCompletion>& batch) {
  absl::MutexLock lock(&db_mu_);
  auto fail_all = [&](const absl::Status& cause) {
    for (PendingCompletion& p : batch) {
      p.result = absl::UnavailableError(absl::StrCat("state store: ", cause.message()));
    }
  };
  // Kept only once all three prepared; a failed preparation is tried again by the next batch.
  if (commit_statements_ == nullptr) {
    commit_statements_ = std::make_unique<CommitStatements>(db_);
    if (!commit_statements_->ok()) {
      absl::Status error = Error("preparing the statements of a completion");
      commit_statements_.reset();
      return fail_all(error);
    }
  }
  Statement& complete = commit_statements_->complete;
  Statement& accept = commit_statements_->accept;
  Statement& evaluate = commit_statements_->evaluate;
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return fail_all(s);
  bool ok = true;
  const int64_t now = NowMillis();
  for (PendingCompletion& p : batch) {
    if (!ok) break;
    const ShardCompletion& c = p.completion;
    complete.Bind(1, c.shard_id).Bind(2, c.worker_id).Bind(3, now);
    ok = complete.Step() == SQLITE_DONE;
    complete.Reset();
    const bool first = ok && sqlite3_changes(db_) == 1;
    p.result = first;
    if (!first) continue;
    for (const AcceptedRationale& r : c.accepted) {
      if (!ok) break;
      accept.Bind(1, r.job_id)
          .Bind(2, int64_t{r.iteration})
          .Bind(3, static_cast<int64_t>(r.question_id))
          .Bind(4, r.shard_id)
          .Bind(5, r.prompt)
          .Bind(6, r.completion)
          .Bind(7, int64_t{r.rationalized});
      ok = accept.Step() == SQLITE_DONE;
      accept.Reset();
    }
    for (const EvaluationOutcome& e : c.evaluations) {
      if (!ok) break;
      evaluate.Bind(1, e.job_id)
          .Bind(2, int64_t{e.iteration})
          .Bind(3, static_cast<int64_t>(e.question_id))
          .Bind(4, e.bucket)
          .Bind(5, int64_t{e.correct});
      ok = evaluate.Step() == SQLITE_DONE;
      evaluate.Reset();
    }
  }
  if (!ok) {
    absl::Status error = Error("committing shard completions");
    (void)Exec("ROLLBACK");
    return fail_all(error);
  }
  if (absl::Status s = Exec("COMMIT"); !s.ok()) {
    (void)Exec("ROLLBACK");
    return fail_all(s);
  }
}

absl::StatusOr<std::vector<AcceptedRationale>> StateStore::Accepted(const std::string& job_id,
                                                                    uint32_t iteration) const {
  absl::MutexLock lock(&db_mu_);
  Statement select(db_,
                   "SELECT question_id, shard_id, prompt, completion, rationalized FROM accepted "
                   "WHERE job_id = ? AND iteration = ? ORDER BY question_id, seq");
  select.Bind(1, job_id).Bind(2, int64_t{iteration});
  if (!select.ok()) return Error("reading accepted rationales");
  std::vector<AcceptedRationale> out;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    out.push_back(AcceptedRationale{.job_id = job_id,
                                    .iteration = iteration,
                                    .question_id = static_cast<uint64_t>(select.Int(0)),
                                    .shard_id = select.Text(1),
                                    .prompt = select.Text(2),
                                    .completion = select.Text(3),
                                    .rationalized = select.Int(4) != 0});
  }
  if (rc != SQLITE_DONE) return Error("reading accepted rationales");
  return out;
}

absl::StatusOr<int64_t> StateStore::AcceptedCount() const {
  absl::MutexLock lock(&db_mu_);
  Statement count(db_, "SELECT COUNT(*) FROM accepted");
  if (!count.ok() || count.Step() != SQLITE_ROW) return Error("counting accepted rationales");
  return count.Int(0);
}

absl::StatusOr<std::map<std::string, BucketCount>> StateStore::Accuracy(const std::string& job_id,
                                                                        uint32_t iteration) const {
  absl::MutexLock lock(&db_mu_);
  Statement select(db_,
                   "SELECT bucket, SUM(correct), COUNT(*) FROM evaluations "
                   "WHERE job_id = ? AND iteration = ? GROUP BY bucket ORDER BY bucket");
  select.Bind(1, job_id).Bind(2, int64_t{iteration});
  if (!select.ok()) return Error("reading evaluations");
  std::map<std::string, BucketCount> out;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    out[select.Text(0)] = BucketCount{.correct = static_cast<uint32_t>(select.Int(1)),
                                      .total = static_cast<uint32_t>(select.Int(2))};
  }
  if (rc != SQLITE_DONE) return Error("reading evaluations");
  return out;
}

absl::Status StateStore::PutRound(const std::string& round_id, const std::string& job_id,
                                  uint32_t iteration, const std::string& state,
                                  const std::string& error) {
  absl::MutexLock lock(&db_mu_);
  Statement put(db_,
                "INSERT INTO rounds (round_id, job_id, iteration, state, error, updated_ms) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (round_id) DO UPDATE SET "
                "state = excluded.state, error = excluded.error, updated_ms = excluded.updated_ms");
  put.Bind(1, round_id).Bind(2, job_id).Bind(3, int64_t{iteration}).Bind(4, state).Bind(5, error);
  put.Bind(6, NowMillis());
  if (!put.ok() || put.Step() != SQLITE_DONE) return Error("writing round " + round_id);
  return absl::OkStatus();
}

absl::Status StateStore::PutMark(const std::string& job_id, const std::string& key,
                                 const std::string& value) {
  absl::MutexLock lock(&db_mu_);
  Statement put(db_,
                "INSERT INTO marks (job_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (job_id, key) DO UPDATE SET value = excluded.value");
  put.Bind(1, job_id).Bind(2, key).BindBlob(3, value);
  if (!put.ok() || put.Step() != SQLITE_DONE) return Error("writing mark " + key);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> StateStore::GetMark(const std::string& job_id,
                                                               const std::string& key) const {
  absl::MutexLock lock(&db_mu_);
  Statement get(db_, "SELECT value FROM marks WHERE job_id = ? AND key = ?");
  get.Bind(1, job_id).Bind(2, key);
  if (!get.ok()) return Error("reading mark " + key);
  int rc = get.Step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return Error("reading mark " + key);
  return std::optional<std::string>(get.Text(0));
}

}  // namespace star
