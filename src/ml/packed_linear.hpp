// The encoder's matrix products on weights packed once at load, with the bias, GELU or the
// residual applied as each block of outputs leaves the registers (AVX2/FMA).
//
//   ml::PackedLinear ff1(w, b, 1536, 384);   // w: [out, in], PyTorch's Linear layout
//   ml::linear_packed(x, 384, rows, ff1, {.gelu = true}, y, 1536);   // y = gelu(x w^T + b)
//
// OpenBLAS repacks both operands on every call and takes the bias, GELU and the residual as
// separate passes over memory; here the weights are packed once, the activations are read in
// place, and the output is written once, finished. See docs/architecture.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace libromind::ml {

// Output features per panel: a row of the kernel's register block (two 8-float vectors).
inline constexpr int32_t kPanelWidth = 16;

// A Linear's weights [out, in] and bias [out] repacked for linear_packed(): panels of 16
// output features, each [in][16] (k-major, so one step of the kernel reads 64 contiguous
// bytes), zero past `out`, 64-byte aligned; the bias padded to whole panels.
class PackedLinear {
 public:
  PackedLinear() = default;
  // b may be null (no bias).
  PackedLinear(const float* w, const float* b, int32_t out, int32_t in);
  // Move-only: a copied vector need not keep the 64-byte alignment the offset assumes.
  PackedLinear(PackedLinear&&) noexcept = default;
  PackedLinear& operator=(PackedLinear&&) noexcept = default;
  PackedLinear(const PackedLinear&) = delete;
  PackedLinear& operator=(const PackedLinear&) = delete;

  int32_t out() const { return out_; }
  int32_t in() const { return in_; }
  int32_t panels() const { return (out_ + kPanelWidth - 1) / kPanelWidth; }
  bool empty() const { return out_ == 0; }
  const float* panel(int32_t p) const {
    return data() + static_cast<int64_t>(p) * in_ * kPanelWidth;
  }
  const float* bias() const { return data() + static_cast<int64_t>(panels()) * in_ * kPanelWidth; }
  size_t bytes() const { return storage_.size() * sizeof(float); }

 private:
  const float* data() const { return storage_.data() + offset_; }

  std::vector<float> storage_;
  size_t offset_ = 0;  // floats from storage_.data() to the first 64-byte boundary
  int32_t out_ = 0;
  int32_t in_ = 0;
};

// Rows per pass over the weights inside linear_packed(): a caller that chains products row
// block by row block (the encoder's feed-forward) uses blocks of this size, so each block's
// intermediate stays in L2 between the products.
inline constexpr int64_t kPackedPassRows = 72;

// What linear_packed() does with each product before storing it:
//   residual null: y = act(x w^T + b), act GELU (exact erf form) or the identity;
//   residual set:  y = (residual + b) + x w^T (the transformer's skip connection; no GELU).
struct LinearEpilogue {
  bool gelu = false;
  const float* residual = nullptr;  // [rows, out] at row stride ld_residual
  int64_t ld_residual = 0;
};

// True where linear_packed() can run: an x86-64 build and a CPU with AVX2 and FMA. Elsewhere
// the encoder keeps OpenBLAS and the few-row kernel.
bool packed_linear_available();

// y[rows, out] = epilogue(x[rows, in] w^T) for packed w; ldx and ldy are row strides. Output
// panels are split across `threads` OpenMP threads (1: the calling thread alone). y must not
// overlap x or the residual, except that y may be the residual itself (same stride).
// Requires packed_linear_available().
void linear_packed(const float* x, int64_t ldx, int64_t rows, const PackedLinear& w,
                   const LinearEpilogue& epilogue, float* y, int64_t ldy, int32_t threads = 1);

}  // namespace libromind::ml
