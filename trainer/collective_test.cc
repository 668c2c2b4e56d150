#include "trainer/collective.h"

#include <functional>
#include <thread>

#include "gtest/gtest.h"

namespace star {
namespace {

// Forms a world of `world` ranks in threads of this process, rank 0 serving the store on a
// listener bound first, and runs `body` on each rank.
void RunRanks(int world, const std::string& backend,
              const std::function<void(Collective&)>& body) {
  absl::StatusOr<StoreListener> listener = StoreListener::Bind("127.0.0.1");
  ASSERT_TRUE(listener.ok()) << listener.status();
  const int port = listener->port();
  int fd = listener->Release();
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      CollectiveOptions options;
      options.backend = backend;
      options.rank = rank;
      options.world_size = world;
      options.master_port = port;
      options.master_listen_fd = rank == 0 ? fd : -1;
      options.timeout = absl::Seconds(30);
      absl::StatusOr<std::unique_ptr<Collective>> c = Collective::Create(options);
      ASSERT_TRUE(c.ok()) << "rank " << rank << ": " << c.status();
      body(**c);
    });
  }
  for (auto& t : threads) t.join();
}

TEST(CollectiveTest, GlooAllReduceSumsOverThreeRanks) {
  RunRanks(3, "gloo", [](Collective& c) {
    torch::Tensor t = torch::full({5}, static_cast<float>(c.rank() + 1));
    ASSERT_TRUE(c.AllReduceSum(t).ok());
    EXPECT_TRUE(torch::equal(t, torch::full({5}, 6.0f))) << t;
  });
}

TEST(CollectiveTest, AverageGradientsAcrossBucketsMatchesTheMean) {
  RunRanks(2, "gloo", [](Collective& c) {
    // Three parameters; 64-byte buckets force several all-reduces. The last has no gradient
    // on rank 1, which must count as zeros.
    std::vector<torch::Tensor> params = {torch::zeros({4, 3}), torch::zeros({10}),
                                         torch::zeros({2})};
    float base = c.rank() == 0 ? 1.0f : 3.0f;
    params[0].mutable_grad() = torch::full({4, 3}, base);
    params[1].mutable_grad() = torch::arange(10, torch::kFloat32) * base;
    if (c.rank() == 0) params[2].mutable_grad() = torch::full({2}, 8.0f);
    ASSERT_TRUE(c.AverageGradients(params).ok());
    EXPECT_TRUE(torch::allclose(params[0].grad(), torch::full({4, 3}, 2.0f)));
    EXPECT_TRUE(torch::allclose(params[1].grad(), torch::arange(10, torch::kFloat32) * 2.0f));
    EXPECT_TRUE(torch::allclose(params[2].grad(), torch::full({2}, 4.0f)));
    EXPECT_GT(c.allreduce_seconds(), 0.0);
  });
}

TEST(CollectiveTest, MissingPeerFailsWithinTheTimeoutInsteadOfHanging) {
  absl::StatusOr<StoreListener> listener = StoreListener::Bind("127.0.0.1");
  ASSERT_TRUE(listener.ok());
  CollectiveOptions options;
  options.world_size = 2;
  options.rank = 0;
  options.master_port = listener->port();
  options.master_listen_fd = listener->Release();
  options.timeout = absl::Seconds(2);
  absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Collective>> c = Collective::Create(options);
  EXPECT_FALSE(c.ok());
  EXPECT_TRUE(c.status().code() == absl::StatusCode::kDeadlineExceeded ||
              c.status().code() == absl::StatusCode::kUnavailable)
      << c.status();
  EXPECT_NE(c.status().message().find("gloo rendezvous"), std::string::npos) << c.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST(CollectiveTest, BadRankAndBackendAreRejected) {
  CollectiveOptions options;
  options.world_size = 2;
  options.rank = 2;
  EXPECT_EQ(Collective::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.rank = 0;
  options.backend = "mpi";
  absl::Status s = Collective::Create(options).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("backend 'mpi'"), std::string::npos);
}

TEST(CollectiveTest, NcclAllReduceOnCudaTensors) {
  if (!NcclAvailable()) {
    GTEST_SKIP() << "no CUDA device (or a build without CUDA): the NCCL path is compiled and "
                    "linked but cannot run here";
  }
  RunRanks(1, "nccl", [](Collective& c) {
    torch::Tensor t = torch::full({8}, 2.0f, torch::TensorOptions().device(torch::kCUDA));
    ASSERT_TRUE(c.AllReduceSum(t).ok());
    EXPECT_TRUE(torch::equal(t.cpu(), torch::full({8}, 2.0f)));
  });
}

}  // namespace
}  // namespace star
