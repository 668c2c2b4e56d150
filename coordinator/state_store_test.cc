#include "coordinator/state_store.h"

#include <sqlite3.h>

#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/test_environment.h"

namespace star {
namespace {

using ::star::testing::TempDir;

star::v1::Shard MakeShard(const std::string& id, uint32_t iteration, star::v1::ShardKind kind) {
  star::v1::Shard shard;
  shard.set_shard_id(id);
  shard.set_job_id("job-1");
  shard.set_iteration(iteration);
  shard.set_kind(kind);
  shard.add_questions()->set_question_id(7);
  return shard;
}

StateStore::ShardCompletion Completion(const std::string& shard_id, uint64_t question,
                                       const std::string& text) {
  StateStore::ShardCompletion c{.shard_id = shard_id, .worker_id = "w1"};
  c.accepted.push_back(AcceptedRationale{.job_id = "job-1",
                                         .iteration = 1,
                                         .question_id = question,
                                         .shard_id = shard_id,
                                         .prompt = "p",
                                         .completion = text});
  return c;
}

TEST(StateStoreTest, EverythingSurvivesReopeningAndTheEpochCountsOpens) {
  TempDir dir;
  const std::string path = StateStore::PathIn(dir.path());
  {
    absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->epoch(), 1);
    star::v1::JobStatus job;
    job.set_job_id("job-1");
    job.set_state(star::v1::JOB_STATE_RUNNING);
    job.mutable_spec()->set_name("job");
    ASSERT_TRUE((*store)->PutJob(job).ok());
    ASSERT_TRUE((*store)
                    ->AddShards({MakeShard("s1", 1, star::v1::SHARD_KIND_GENERATE),
                                 MakeShard("s2", 1, star::v1::SHARD_KIND_GENERATE),
                                 MakeShard("e1", 1, star::v1::SHARD_KIND_EVALUATE)})
                    .ok());
    ASSERT_EQ((*store)->CompleteShard(Completion("s2", 9, "b")).value(), true);
    StateStore::ShardCompletion eval{.shard_id = "e1", .worker_id = "w2"};
    eval.evaluations = {{.job_id = "job-1", .iteration = 1, .question_id = 1, .bucket = "1", .correct = true},
                        {.job_id = "job-1", .iteration = 1, .question_id = 2, .bucket = "1", .correct = false}};
    ASSERT_EQ((*store)->CompleteShard(eval).value(), true);
    ASSERT_TRUE((*store)->PutMark("job-1", "seed", "models/m0").ok());
    ASSERT_TRUE((*store)->PutRound("job-1-i1-e1-round1", "job-1", 1, "failed", "rank 1 died").ok());
  }
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->epoch(), 2);
  absl::StatusOr<std::vector<star::v1::JobStatus>> jobs = (*store)->Jobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].spec().name(), "job");
  EXPECT_EQ((*jobs)[0].state(), star::v1::JOB_STATE_RUNNING);
  absl::StatusOr<std::vector<StoredShard>> shards =
      (*store)->ShardsOfPass("job-1", 1, star::v1::SHARD_KIND_GENERATE);
  ASSERT_TRUE(shards.ok());
  ASSERT_EQ(shards->size(), 2u);
  EXPECT_EQ((*shards)[0].shard.shard_id(), "s1");
  EXPECT_FALSE((*shards)[0].done);
  EXPECT_TRUE((*shards)[1].done);
  EXPECT_EQ((*shards)[1].shard.questions(0).question_id(), 7u);
  std::vector<AcceptedRationale> accepted = (*store)->Accepted("job-1", 1).value();
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].completion, "b");
  std::map<std::string, BucketCount> accuracy = (*store)->Accuracy("job-1", 1).value();
  EXPECT_EQ(accuracy["1"].correct, 1u);
  EXPECT_EQ(accuracy["1"].total, 2u);
  EXPECT_EQ((*store)->GetMark("job-1", "seed").value(), std::optional<std::string>("models/m0"));
  EXPECT_EQ((*store)->GetMark("job-1", "iteration/1/trained").value(), std::nullopt);
}

TEST(StateStoreTest, ASecondCompletionOfAShardWritesNothing) {
  TempDir dir;
  std::unique_ptr<StateStore> store = StateStore::Open(dir.File("c.db")).value();
  EXPECT_EQ(store->CompleteShard(Completion("s1", 1, "first")).value(), true);
  EXPECT_EQ(store->CompleteShard(Completion("s1", 1, "second")).value(), false);
  std::vector<AcceptedRationale> accepted = store->Accepted("job-1", 1).value();
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].completion, "first");
}

TEST(StateStoreTest, ConcurrentCompletionsAreEachCommittedOnce) {
  TempDir dir;
  std::unique_ptr<StateStore> store = StateStore::Open(dir.File("c.db")).value();
  constexpr int kThreads = 8;
  constexpr int kShards = 200;
  // Every thread submits every shard: each shard must count once, whoever wins.
  std::vector<int> firsts(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int s = 0; s < kShards; ++s) {
        absl::StatusOr<bool> first =
            store->CompleteShard(Completion(absl::StrCat("s", s), s, absl::StrCat("by ", t)));
        ASSERT_TRUE(first.ok()) << first.status();
        firsts[t] += *first ? 1 : 0;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  int total = 0;
  for (int f : firsts) total += f;
  EXPECT_EQ(total, kShards);
  EXPECT_EQ(store->AcceptedCount().value(), kShards);
  // Ordered by question id whatever the commit order was.
  std::vector<AcceptedRationale> accepted = store->Accepted("job-1", 1).value();
  ASSERT_EQ(accepted.size(), static_cast<size_t>(kShards));
  for (int s = 0; s < kShards; ++s) EXPECT_EQ(accepted[s].question_id, static_cast<uint64_t>(s));
}

TEST(StateStoreTest, AnAsynchronousCompletionIsAnsweredFromTheCommitThreadOnceCommitted) {
  TempDir dir;
  std::unique_ptr<StateStore> store = StateStore::Open(dir.File("a.db")).value();
  constexpr int kShards = 500;
  absl::Mutex mu;
  int answered = 0;
  int firsts = 0;
  std::set<std::thread::id> threads;
  for (int s = 0; s < kShards; ++s) {
    store->CompleteShardAsync(Completion(absl::StrCat("s", s), s, "async"),
                              [&](absl::StatusOr<bool> first) {
                                absl::MutexLock lock(&mu);
                                ASSERT_TRUE(first.ok()) << first.status();
                                ++answered;
                                firsts += *first ? 1 : 0;
                                threads.insert(std::this_thread::get_id());
                              });
  }
  // And each one again: a duplicate, answered false.
  for (int s = 0; s < kShards; ++s) {
    store->CompleteShardAsync(Completion(absl::StrCat("s", s), s, "again"),
                              [&](absl::StatusOr<bool> first) {
                                absl::MutexLock lock(&mu);
                                ASSERT_TRUE(first.ok()) << first.status();
                                ++answered;
                                firsts += *first ? 1 : 0;
                              });
  }
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(
                            +[](int* n) { return *n == 2 * kShards; }, &answered),
                        absl::Seconds(60));
    EXPECT_EQ(answered, 2 * kShards);
    EXPECT_EQ(firsts, kShards);
    // All from the store's one commit thread, never the caller's.
    EXPECT_EQ(threads.size(), 1u);
    EXPECT_FALSE(threads.contains(std::this_thread::get_id()));
  }
  EXPECT_EQ(store->AcceptedCount().value(), kShards);
  // What was answered is on disk: another connection sees it.
  std::unique_ptr<StateStore> reader = StateStore::OpenReadOnly(dir.File("a.db")).value();
  EXPECT_EQ(reader->AcceptedCount().value(), kShards);
}

TEST(StateStoreTest, TheDatabaseIsInWalModeAndACommitIsSeenByAnotherConnection) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  std::unique_ptr<StateStore> store = StateStore::Open(path).value();
  ASSERT_TRUE(store->CompleteShard(Completion("s1", 1, "x")).ok());
  // An independent connection sees the committed row and the journal mode.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT completion FROM accepted", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "x");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(StateStoreTest, ADatabaseFromANewerVersionIsRefusedByName) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(path);
  ASSERT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find(path), std::string::npos);
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos);
}

TEST(StateStoreTest, ReadOnlyOpenOfAMissingDatabaseIsNotFound) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::OpenReadOnly(dir.File("none.db"));
  ASSERT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(store.status().message().find("none.db"), std::string::npos);
}

TEST(StateStoreTest, AnUnopenableFileIsAnErrorNamingIt) {
  TempDir dir;
  const std::string path = dir.File("missing-dir/c.db");
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(path);
  ASSERT_EQ(store.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(store.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace star
