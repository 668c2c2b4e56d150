// Translation unit that owns the precompiled torch header (see StarTorch.cmake).
namespace star {
int torch_pch_anchor = 0;
}  // namespace star
