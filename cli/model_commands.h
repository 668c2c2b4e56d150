#ifndef STAR_CLI_MODEL_COMMANDS_H_
#define STAR_CLI_MODEL_COMMANDS_H_

// `star init-model` and `star generate`: commands that work on checkpoints directly.
// Each takes the whole argv (argv[1] is the command) and returns the exit code.

namespace star {

int RunInitModel(int argc, char** argv);
int RunGenerate(int argc, char** argv);

}  // namespace star

#endif  // STAR_CLI_MODEL_COMMANDS_H_
