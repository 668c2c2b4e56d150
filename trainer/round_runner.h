#ifndef STAR_TRAINER_ROUND_RUNNER_H_
#define STAR_TRAINER_ROUND_RUNNER_H_

// Runs a round the coordinator assigned to this trainer: forms the process group, tokenizes this
// rank's examples with the base model's tokenizer, trains (round_trainer.h) and returns the
// report to send back. Torch-free interface for the trainer binary.

#include <functional>
#include <string>
#include <vector>

#include "files/path_policy.h"
#include "model/compute_device.h"
#include "star/v1/training.pb.h"
#include "trainer/step_stats.h"

namespace star {

// The round's base checkpoint is read, and its output written, only under `data_roots` (a
// path elsewhere fails the round, naming the field and the roots). A round on the "nccl"
// backend trains on `device` (this rank's --device; a CPU there fails the round), one on "gloo"
// on the CPU, in the precision of the assignment's compute section. `listener_fd` is the socket this trainer announced as its store port (used when it is rank 0;
// closed otherwise). `on_step` (may be empty) gets every step's statistics; `stop_requested`
// (may be empty) is asked before every step, and when it says so on any rank the round ends
// early on every rank (RoundOptions::stop_requested). Never throws; failures are in the report
// (ok=false, error).
star::v1::ReportRoundRequest RunAssignedRound(const star::v1::RoundAssignment& assignment,
                                              const std::vector<star::v1::TrainingExample>& examples,
                                              const PathPolicy& data_roots,
                                              const ComputeDevice& device, int listener_fd,
                                              const std::function<void(const StepStats&)>& on_step,
                                              const std::function<bool()>& stop_requested = {});

// Intra-op threads of this process.
void SetTrainerThreads(int threads);

}  // namespace star

#endif  // STAR_TRAINER_ROUND_RUNNER_H_
