#include "ml/packed_linear.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "ml/erf_approx.hpp"

namespace libromind::ml {

PackedLinear::PackedLinear(const float* w, const float* b, int32_t out, int32_t in)
    : out_(std::max(out, 0)), in_(std::max(in, 0)) {
  const int64_t panel_floats = static_cast<int64_t>(in_) * kPanelWidth;
  const int64_t total = panel_floats * panels() + static_cast<int64_t>(panels()) * kPanelWidth;
  storage_.assign(static_cast<size_t>(total) + 16, 0.0f);
  const auto addr = reinterpret_cast<uintptr_t>(storage_.data());
  offset_ = ((addr + 63) / 64 * 64 - addr) / sizeof(float);
  float* d = storage_.data() + offset_;
  for (int32_t o = 0; o < out_; ++o) {
    float* panel = d + static_cast<int64_t>(o / kPanelWidth) * panel_floats + o % kPanelWidth;
    const float* wo = w + static_cast<int64_t>(o) * in_;
    for (int32_t k = 0; k < in_; ++k) {
      panel[static_cast<int64_t>(k) * kPanelWidth] = wo[k];
    }
  }
  if (b != nullptr) {
    std::memcpy(d + panel_floats * panels(), b, sizeof(float) * static_cast<size_t>(out_));
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

namespace {

#define LM_ML_AVX2 __attribute__((target("avx2,fma")))

// Rows of x per register block: 6 rows x 2 vectors of accumulators, the two weight vectors and
// a broadcast fill 15 of the 16 ymm registers. Each step loads 2 + 6 floats' worth for 12 FMAs,
// so the two FMA pipes, not the loads, set the pace.
constexpr int kBlockRows = 6;

// Rows of x per pass over the weights. Within a pass, each panel of weights (in x 16 floats, 24
// KB for in = 384) is read once from memory into L1 and used for every row block of the pass,
// while the pass's rows (72 x in floats) stay in L2; the output of a pass (72 x out) stays in
// L2 too, for the caller's next step (GELU's output is the next product's input).
constexpr int64_t kPassRows = kPackedPassRows;

// How many k steps (64-byte lines of a panel) ahead block() prefetches the weights.
constexpr int32_t kPrefetchLines = 32;

// erf(x) for 8 floats: the rational approximation of ml/erf_approx.hpp (|error| < 2e-7, as
// bert.cpp's scalar erf_approx), with the division done as a reciprocal and a Newton
// step (GELU through it stays within 1e-6 of the exact value: packed_linear_test.cpp).
LM_ML_AVX2 inline __m256 erf_avx2(__m256 x) {
  namespace c = erf_approx_coefficients;
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-c::kClamp)), _mm256_set1_ps(c::kClamp));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(c::kP[0]);
#pragma GCC unroll 8
  for (size_t i = 1; i < std::size(c::kP); ++i) {
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(c::kP[i]));
  }
  p = _mm256_mul_ps(p, x);
  __m256 q = _mm256_set1_ps(c::kQ[0]);
#pragma GCC unroll 8
  for (size_t i = 1; i < std::size(c::kQ); ++i) {
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(c::kQ[i]));
  }
  // p / q as p * (1/q): the reciprocal estimate (12 bits) and one Newton step (about 23 bits)
  // instead of a division, which the FMA pipes cannot overlap as well.
  const __m256 r0 = _mm256_rcp_ps(q);
  const __m256 r1 = _mm256_mul_ps(r0, _mm256_fnmadd_ps(q, r0, _mm256_set1_ps(2.0f)));
  return _mm256_mul_ps(p, r1);
}

// 0.5 x (1 + erf(x / sqrt 2))
LM_ML_AVX2 inline __m256 gelu_avx2(__m256 x) {
  const __m256 e = erf_avx2(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752440f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x),
                       _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// Where one register block's results go.
struct Block {
  const float* bias;      // 16 floats: the panel's slice of the padded bias
  const float* residual;  // row 0, the panel's first column; null for none
  int64_t ld_residual;
  bool gelu;
  float* y;  // row 0, the panel's first column
  int64_t ldy;
  int32_t cols;  // valid columns of the panel, 1..16
};

// Always inlined: were `acc` to reach a call, GCC would keep the accumulators in memory and
// store them on every step of the kernel's loop (which halved its speed).
template <int R>
LM_ML_AVX2 [[gnu::always_inline]] inline void store_block(const Block& blk,
                                                          const __m256 (&acc)[R][2]) {
  const __m256 b0 = _mm256_load_ps(blk.bias);
  const __m256 b1 = _mm256_load_ps(blk.bias + 8);
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    __m256 v0;
    __m256 v1;
    float* yr = blk.y + r * blk.ldy;
    if (blk.residual != nullptr) {
      const float* rr = blk.residual + r * blk.ld_residual;
      if (blk.cols == kPanelWidth) {
        v0 = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(rr), b0), acc[r][0]);
        v1 = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(rr + 8), b1), acc[r][1]);
      } else {
        alignas(32) float res[kPanelWidth] = {};
        std::memcpy(res, rr, sizeof(float) * static_cast<size_t>(blk.cols));
        v0 = _mm256_add_ps(_mm256_add_ps(_mm256_load_ps(res), b0), acc[r][0]);
        v1 = _mm256_add_ps(_mm256_add_ps(_mm256_load_ps(res + 8), b1), acc[r][1]);
      }
    } else {
      v0 = _mm256_add_ps(acc[r][0], b0);
      v1 = _mm256_add_ps(acc[r][1], b1);
      if (blk.gelu) {
        v0 = gelu_avx2(v0);
        v1 = gelu_avx2(v1);
      }
    }
    if (blk.cols == kPanelWidth) {
      _mm256_storeu_ps(yr, v0);
      _mm256_storeu_ps(yr + 8, v1);
    } else {
      alignas(32) float out[kPanelWidth];
      _mm256_store_ps(out, v0);
      _mm256_store_ps(out + 8, v1);
      std::memcpy(yr, out, sizeof(float) * static_cast<size_t>(blk.cols));
    }
  }
}

// R rows of x (stride ldx) times one panel over the whole inner size `in`. The first block of a
// panel in a pass reads the panel from L2 or memory and prefetches (kPrefetch); the others find
// it in L1, where the prefetches would only take load slots.
template <int R, bool kPrefetch>
LM_ML_AVX2 void block(const float* x, int64_t ldx, int32_t in, const float* panel,
                      const Block& blk) {
  __m256 acc[R][2] = {};  // zeros
  const float* xr[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    xr[r] = x + r * ldx;
  }
#pragma GCC unroll 4
  for (int32_t k = 0; k < in; ++k) {
    if constexpr (kPrefetch) {
      // Into L1, this panel's line kPrefetchLines steps ahead; into L2, the next panel's line k,
      // so that the next panel is in L2 when its first block starts (in steps of one line per
      // step, a panel being `in` lines). A few-row product is bound by reading the weights from
      // memory, and the hardware prefetcher stops at each 4 KB page; in a many-row pass the
      // panel is in L1 after its first block. Past the weights' end these name addresses a
      // prefetch never faults on (formed as integers, not pointers).
      const auto line = reinterpret_cast<uintptr_t>(panel) +
                        sizeof(float) * kPanelWidth * static_cast<uintptr_t>(k);
      _mm_prefetch(reinterpret_cast<const char*>(line + sizeof(float) * kPanelWidth *
                                                            static_cast<uintptr_t>(kPrefetchLines)),
                   _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(line + sizeof(float) * kPanelWidth *
                                                            static_cast<uintptr_t>(in)),
                   _MM_HINT_T1);
    }
    const __m256 w0 = _mm256_load_ps(panel + static_cast<int64_t>(k) * kPanelWidth);
    const __m256 w1 = _mm256_load_ps(panel + static_cast<int64_t>(k) * kPanelWidth + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 a = _mm256_broadcast_ss(xr[r] + k);
      acc[r][0] = _mm256_fmadd_ps(a, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a, w1, acc[r][1]);
    }
  }
  store_block<R>(blk, acc);
}

using BlockFn = void (*)(const float*, int64_t, int32_t, const float*, const Block&);
// [prefetch][rows]
constexpr BlockFn kBlocks[2][kBlockRows + 1] = {
    {nullptr, &block<1, false>, &block<2, false>, &block<3, false>, &block<4, false>,
     &block<5, false>, &block<6, false>},
    {nullptr, &block<1, true>, &block<2, true>, &block<3, true>, &block<4, true>, &block<5, true>,
     &block<6, true>}};

// Panels [p_begin, p_end) for rows [0, rows) of one pass.
LM_ML_AVX2 void pass(const float* x, int64_t ldx, int64_t rows, const PackedLinear& w,
                     const LinearEpilogue& ep, float* y, int64_t ldy, int32_t p_begin,
                     int32_t p_end) {
  for (int32_t p = p_begin; p < p_end; ++p) {
    const int32_t col = p * kPanelWidth;
    Block blk{w.bias() + col,
              ep.residual != nullptr ? ep.residual + col : nullptr,
              ep.ld_residual,
              ep.gelu,
              y + col,
              ldy,
              std::min(kPanelWidth, w.out() - col)};
    int64_t r = 0;
    for (; r < rows; r += kBlockRows) {
      const int n = static_cast<int>(std::min<int64_t>(kBlockRows, rows - r));
      Block at = blk;
      at.y = blk.y + r * ldy;
      if (at.residual != nullptr) {
        at.residual = blk.residual + r * ep.ld_residual;
      }
      kBlocks[r == 0 ? 1 : 0][n](x + r * ldx, ldx, w.in(), w.panel(p), at);
    }
  }
}

}  // namespace

bool packed_linear_available() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

void linear_packed(const float* x, int64_t ldx, int64_t rows, const PackedLinear& w,
                   const LinearEpilogue& epilogue, float* y, int64_t ldy, int32_t threads) {
  const int32_t panels = w.panels();
  for (int64_t r0 = 0; r0 < rows; r0 += kPassRows) {
    const int64_t n = std::min(kPassRows, rows - r0);
    LinearEpilogue ep = epilogue;
    if (ep.residual != nullptr) {
      ep.residual += r0 * ep.ld_residual;
    }
    const float* xp = x + r0 * ldx;
    float* yp = y + r0 * ldy;
    if (threads <= 1 || panels < 2) {
      pass(xp, ldx, n, w, ep, yp, ldy, 0, panels);
      continue;
    }
    const int32_t parts = std::min(threads, panels);
#pragma omp parallel for num_threads(parts) schedule(static)
    for (int32_t t = 0; t < parts; ++t) {
      pass(xp, ldx, n, w, ep, yp, ldy, panels * t / parts, panels * (t + 1) / parts);
    }
  }
}

#else

bool packed_linear_available() { return false; }

void linear_packed(const float*, int64_t, int64_t, const PackedLinear&, const LinearEpilogue&,
                   float*, int64_t, int32_t) {
  std::abort();  // callers check packed_linear_available() first
}

#endif

}  // namespace libromind::ml
