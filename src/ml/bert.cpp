// GCC will not if-convert (and so not vectorise) the clamps and masks in the elementwise
// kernels of this file while floating-point exceptions are treated as observable; this code
// never reads FP exception flags (Clang's default already ignores them). The pragma comes before
// any include so that every function here, the standard library's inline ones too, has the same
// options and stays inlinable.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "ml/bert.hpp"
#include "ml/erf_approx.hpp"

#include <cblas.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

// Declared by OpenBLAS's own cblas.h but not by the generic one the alternatives system may
// install as <cblas.h>; the symbol is OpenBLAS's either way.
extern "C" void openblas_set_num_threads(int num_threads);

namespace libromind::ml {

namespace {

constexpr float kSqrtHalf = 0.70710678118654752440f;

// The elementwise kernels get AVX2 and AVX-512 clones picked at load time (ifunc), so that a
// portable build still uses the machine's vector width.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define LM_ML_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LM_ML_SIMD_CLONES
#endif

// Elementwise loops run in blocks of this many floats: a constant trip count lets the compiler
// vectorise them at -O2 (GCC's "very cheap" cost model) without -ffast-math.
constexpr int32_t kBlock = 16;

// e^x within a few ulp for x in [-87, 88] (Cephes expf: 2^n * polynomial on the remainder),
// branch-free so that loops over it vectorise; libm's expf is a call per element.
inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (exact in round-to-nearest mode).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

// erf(x) as a rational function, |error| < 2e-7 (ml/erf_approx.hpp), so that GELU vectorises.
// Straight-line Horner steps: loops over the coefficients here kept GCC at -O2 from
// vectorising gelu()'s loop around it.
inline float erf_approx(float x) {
  namespace c = erf_approx_coefficients;
  static_assert(std::size(c::kP) == 7 && std::size(c::kQ) == 5);
  x = x < -c::kClamp ? -c::kClamp : (x > c::kClamp ? c::kClamp : x);
  const float x2 = x * x;
  float p = c::kP[0];
  p = p * x2 + c::kP[1];
  p = p * x2 + c::kP[2];
  p = p * x2 + c::kP[3];
  p = p * x2 + c::kP[4];
  p = p * x2 + c::kP[5];
  p = p * x2 + c::kP[6];
  p = p * x;
  float q = c::kQ[0];
  q = q * x2 + c::kQ[1];
  q = q * x2 + c::kQ[2];
  q = q * x2 + c::kQ[3];
  q = q * x2 + c::kQ[4];
  return p / q;
}

core::Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Error::not_found("cannot open '" + path + "'");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Up to this many rows, linear() computes its products straight from the weights: OpenBLAS
// would first repack the whole weight matrix, which for a short query costs more than the
// arithmetic. On the project's 2-core AMD EPYC test machine, for a 384 x 1536 product with the
// weights out of the cache, the AVX2 kernel below was about 1.5 times single-threaded OpenBLAS
// at 16 and at 32 rows and even with it at 48 (a throwaway timing loop, 2026-12-07; the
// query benchmarks of bench_encoder show the effect on whole queries).
constexpr int64_t kSmallRows = 32;

// The sum of kBlock partial sums, pairwise: four dependent steps instead of sixteen (with one
// dot product per weight row and token, a serial reduction would cost more than the
// multiplications).
inline float reduce_lanes(float* lane) {
  for (int32_t j = 0; j < 8; ++j) {
    lane[j] += lane[j + 8];
  }
  for (int32_t j = 0; j < 4; ++j) {
    lane[j] += lane[j + 4];
  }
  return (lane[0] + lane[2]) + (lane[1] + lane[3]);
}

// sum(a[i] * b[i]) with per-lane partial sums (vectorisable without reassociation).
inline float dot(const float* a, const float* b, int32_t n) {
  float lane[kBlock] = {};
  int32_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    const float* ab = a + i;
    const float* bb = b + i;
    for (int32_t j = 0; j < kBlock; ++j) {
      lane[j] += ab[j] * bb[j];
    }
  }
  float sum = reduce_lanes(lane);
  for (; i < n; ++i) {
    sum += a[i] * b[i];
  }
  return sum;
}

// Threads for the weight products (packed or few-row) of the calling thread's forward pass: a
// single sequence (a search query) splits their output columns across the encoder's threads.
thread_local int32_t tl_product_threads = 1;

// y[r, o] = (accumulate ? y[r, o] + b[o] : b[o]) + sum (b null: 0), the one store of every few-row
// kernel.
inline void store_output(float* y, int64_t ldy, int64_t r, int32_t o, const float* b,
                         bool accumulate, float sum) {
  float* yo = y + r * ldy + o;
  const float bias = b != nullptr ? b[o] : 0.0f;
  *yo = (accumulate ? *yo + bias : bias) + sum;
}

// Output columns [o_begin, o_end) of the few-row product, one dot product per row and column
// (any x86-64 or other CPU; each weight row stays in L1 across the rows).
LM_ML_SIMD_CLONES void few_rows_portable(const float* x, int64_t ldx, int64_t rows, int32_t in,
                                         const float* w, const float* b, int32_t o_begin,
                                         int32_t o_end, float* y, int64_t ldy, bool accumulate) {
  for (int32_t o = o_begin; o < o_end; ++o) {
    const float* wo = w + static_cast<int64_t>(o) * in;
    for (int64_t r = 0; r < rows; ++r) {
      store_output(y, ldy, r, o, b, accumulate, dot(x + r * ldx, wo, in));
    }
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LM_ML_AVX2_KERNEL 1
#define LM_ML_AVX2 __attribute__((target("avx2,fma")))

// How many column blocks ahead few_rows_block prefetches the weights.
constexpr int kPrefetchBlocks = 2;

// [sum(a), sum(b), sum(c), sum(d)]
LM_ML_AVX2 inline __m128 lane_sums(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 ab = _mm256_hadd_ps(a, b);  // a01 a23 b01 b23 | a45 a67 b45 b67
  const __m256 cd = _mm256_hadd_ps(c, d);
  const __m256 abcd = _mm256_hadd_ps(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// R rows of x times C (<= 4) weight rows: R * C accumulators held in registers (3 x 4 = 12 of
// the 16 ymm registers, the other 4 for x and the weights), 8 products each per step. Each step
// loads R + C vectors for R * C fused multiply-adds, so the FMA units, not the loads, bound it;
// the single dot product per output of few_rows_portable has 1 FMA per 2 loads and one
// dependent chain per 4-cycle FMA latency, a quarter of the machine's peak.
template <int R, int C>
LM_ML_AVX2 inline void few_rows_block(const float* x, int64_t ldx, int32_t in, const float* w,
                                      const float* b, int32_t o, float* y, int64_t ldy,
                                      bool accumulate) {
  __m256 acc[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      acc[r][c] = _mm256_setzero_ps();
    }
  }
  const float* wo = w + static_cast<int64_t>(o) * in;
  int32_t k = 0;
  for (; k + 8 <= in; k += 8) {
    __m256 xv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      xv[r] = _mm256_loadu_ps(x + r * ldx + k);
    }
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      // The weights come from memory, not the cache (42 MB for all-MiniLM-L6-v2's layers),
      // and the hardware prefetcher stops at each 4 KB page; fetching the block after next
      // while this one computes overlaps the two. Past the end of w it names an address outside it,
      // which a prefetch never faults on (an integer, so that no out-of-bounds pointer is formed).
      const uintptr_t ahead =
          reinterpret_cast<uintptr_t>(wo + static_cast<int64_t>(c) * in + k) +
          sizeof(float) * static_cast<uintptr_t>(4 * kPrefetchBlocks) * static_cast<uintptr_t>(in);
      _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
      const __m256 wv = _mm256_loadu_ps(wo + static_cast<int64_t>(c) * in + k);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        acc[r][c] = _mm256_fmadd_ps(xv[r], wv, acc[r][c]);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    alignas(16) float sums[4];
    _mm_store_ps(sums, lane_sums(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      float sum = sums[c];
      for (int32_t kk = k; kk < in; ++kk) {
        sum += x[r * ldx + kk] * wo[static_cast<int64_t>(c) * in + kk];
      }
      store_output(y, ldy, r, o + c, b, accumulate, sum);
    }
  }
}

template <int C>
LM_ML_AVX2 inline void few_rows_columns(const float* x, int64_t ldx, int64_t rows, int32_t in,
                                        const float* w, const float* b, int32_t o, float* y,
                                        int64_t ldy, bool accumulate) {
  int64_t r = 0;
  for (; r + 3 <= rows; r += 3) {
    few_rows_block<3, C>(x + r * ldx, ldx, in, w, b, o, y + r * ldy, ldy, accumulate);
  }
  if (rows - r == 2) {
    few_rows_block<2, C>(x + r * ldx, ldx, in, w, b, o, y + r * ldy, ldy, accumulate);
  } else if (rows - r == 1) {
    few_rows_block<1, C>(x + r * ldx, ldx, in, w, b, o, y + r * ldy, ldy, accumulate);
  }
}

// Output columns [o_begin, o_end), four at a time (AVX2 and FMA: every x86-64 CPU since 2013).
LM_ML_AVX2 void few_rows_avx2(const float* x, int64_t ldx, int64_t rows, int32_t in, const float* w,
                              const float* b, int32_t o_begin, int32_t o_end, float* y, int64_t ldy,
                              bool accumulate) {
  int32_t o = o_begin;
  for (; o + 4 <= o_end; o += 4) {
    few_rows_columns<4>(x, ldx, rows, in, w, b, o, y, ldy, accumulate);
  }
  switch (o_end - o) {
    case 3:
      few_rows_columns<3>(x, ldx, rows, in, w, b, o, y, ldy, accumulate);
      break;
    case 2:
      few_rows_columns<2>(x, ldx, rows, in, w, b, o, y, ldy, accumulate);
      break;
    case 1:
      few_rows_columns<1>(x, ldx, rows, in, w, b, o, y, ldy, accumulate);
      break;
    default:
      break;
  }
}

// ---- Attention (AVX2/FMA) ----
//
// One head of one sequence, fused: scores, softmax and the weighted sum of the values, a few
// query rows at a time, all in L1. OpenBLAS would run two small products per head (the scores'
// inner size is the head width, 32 for MiniLM), each packing its operands and clearing its
// output first, with the softmax as three more passes over the n x n scores in between: on a
// catalogue pass, all that was about a quarter of the time for a tenth of the arithmetic.

// e^x for 8 floats: exp_approx's range reduction and polynomial.
LM_ML_AVX2 inline __m256 exp_avx2(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  const __m256 r2 = _mm256_mul_ps(r, r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0f));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

LM_ML_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

LM_ML_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Shapes of one head's attention as the AVX2 kernel sees them.
struct HeadView {
  const float* kt;    // [npad / 16][dh][16]: this head's keys transposed in blocks of 16 keys
                      // (each block one contiguous read), zero beyond n
  const float* keep;  // [npad]: 1 for a real key, 0 for a masked or absent one
  const float* v;     // [n, dh]: this head's values, contiguous
  int64_t ld;         // row stride of q
  int32_t n;          // rows (queries and keys)
  int32_t npad;       // n rounded up to 16
  int32_t dh;         // head width, a multiple of 16
  float scale;
};

// Query rows per call of attention_rows: 6 x 2 accumulators, two loaded vectors and a broadcast
// fill 15 of the 16 AVX2 registers; each call reads the head's keys and values once (from L2
// for long sequences), so more rows per call means less traffic.
constexpr int kAttentionRows = 6;

// ctx rows [0, R) of one head = softmax(scale * q k^T, masked) v for R query rows at q (row
// stride hv.ld); s holds R x npad floats.
template <int R>
LM_ML_AVX2 inline void attention_rows(const HeadView& hv, const float* q, float* s, float* ctx,
                                      int64_t ldc) {
  const __m256 scale = _mm256_set1_ps(hv.scale);
  const __m256 masked = _mm256_set1_ps(-3.0e38f);
  __m256 mx[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    mx[r] = masked;
  }
  // Scores: 16 keys by R queries in registers, over the head's dh dimensions.
  for (int32_t j = 0; j < hv.npad; j += 16) {
    __m256 acc[R][2] = {};  // zeros
    const float* kt = hv.kt + static_cast<int64_t>(j) * hv.dh;
#pragma GCC unroll 4
    for (int32_t d = 0; d < hv.dh; ++d) {
      const __m256 k0 = _mm256_load_ps(kt + 16 * d);
      const __m256 k1 = _mm256_load_ps(kt + 16 * d + 8);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m256 qb = _mm256_broadcast_ss(q + r * hv.ld + d);
        acc[r][0] = _mm256_fmadd_ps(qb, k0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(qb, k1, acc[r][1]);
      }
    }
    const __m256 keep0 =
        _mm256_cmp_ps(_mm256_load_ps(hv.keep + j), _mm256_setzero_ps(), _CMP_NEQ_OQ);
    const __m256 keep1 =
        _mm256_cmp_ps(_mm256_load_ps(hv.keep + j + 8), _mm256_setzero_ps(), _CMP_NEQ_OQ);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 s0 = _mm256_blendv_ps(masked, _mm256_mul_ps(acc[r][0], scale), keep0);
      const __m256 s1 = _mm256_blendv_ps(masked, _mm256_mul_ps(acc[r][1], scale), keep1);
      _mm256_store_ps(s + static_cast<int64_t>(r) * hv.npad + j, s0);
      _mm256_store_ps(s + static_cast<int64_t>(r) * hv.npad + j + 8, s1);
      mx[r] = _mm256_max_ps(mx[r], _mm256_max_ps(s0, s1));
    }
  }
  // Softmax numerators and their sums; masked keys get exactly 0.
  float inv[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    const __m256 m = _mm256_set1_ps(hmax(mx[r]));
    float* sr = s + static_cast<int64_t>(r) * hv.npad;
    __m256 sum = _mm256_setzero_ps();
    for (int32_t j = 0; j < hv.npad; j += 8) {
      const __m256 p = _mm256_mul_ps(exp_avx2(_mm256_sub_ps(_mm256_load_ps(sr + j), m)),
                                     _mm256_load_ps(hv.keep + j));
      _mm256_store_ps(sr + j, p);
      sum = _mm256_add_ps(sum, p);
    }
    inv[r] = 1.0f / hsum(sum);
  }
  // Context: the numerators times the values, 16 dimensions at a time, divided by the sums.
  for (int32_t c = 0; c < hv.dh; c += 16) {
    __m256 acc[R][2] = {};  // zeros
#pragma GCC unroll 4
    for (int32_t j = 0; j < hv.n; ++j) {
      const float* vj = hv.v + static_cast<int64_t>(j) * hv.dh + c;
      const __m256 v0 = _mm256_load_ps(vj);
      const __m256 v1 = _mm256_load_ps(vj + 8);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m256 p = _mm256_broadcast_ss(s + static_cast<int64_t>(r) * hv.npad + j);
        acc[r][0] = _mm256_fmadd_ps(p, v0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(p, v1, acc[r][1]);
      }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 f = _mm256_set1_ps(inv[r]);
      _mm256_storeu_ps(ctx + r * ldc + c, _mm256_mul_ps(acc[r][0], f));
      _mm256_storeu_ps(ctx + r * ldc + c + 8, _mm256_mul_ps(acc[r][1], f));
    }
  }
}

LM_ML_AVX2 void attention_avx2(const float* q, const float* k, const float* v, int64_t ld,
                               float* ctx, int64_t ldc, int32_t n, int32_t heads, int32_t dh,
                               float scale, const float* key_keep, float* work) {
  const int32_t npad = (n + 15) / 16 * 16;
  // 32-byte aligned views into work: the head's keys transposed, its values, the key mask and R
  // rows of scores. The copies make the kernel's reads contiguous: rows of q, k and v are
  // wide apart (6 KB for MiniLM), so reading a head's values in place would walk one cache set.
  float* base = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(work) + 31) & ~uintptr_t{31});
  float* kt = base;
  float* vc = kt + static_cast<int64_t>(dh) * npad;
  float* keep = vc + static_cast<int64_t>(dh) * npad;
  float* s = keep + npad;
  for (int32_t j = 0; j < npad; ++j) {
    keep[j] = j < n && key_keep[j] != 0.0f ? 1.0f : 0.0f;
  }
  for (int32_t hd = 0; hd < heads; ++hd) {
    const int64_t off = static_cast<int64_t>(hd) * dh;
    std::fill(kt + static_cast<int64_t>(n / 16) * 16 * dh, kt + static_cast<int64_t>(npad) * dh,
              0.0f);
    for (int32_t j = 0; j < n; ++j) {
      float* block = kt + static_cast<int64_t>(j / 16) * 16 * dh + j % 16;
      const float* kj = k + j * ld + off;
      for (int32_t d = 0; d < dh; ++d) {
        block[16 * d] = kj[d];
      }
    }
    for (int32_t j = 0; j < n; ++j) {
      std::memcpy(vc + static_cast<int64_t>(j) * dh, v + j * ld + off,
                  sizeof(float) * static_cast<size_t>(dh));
    }
    const HeadView hv{kt, keep, vc, ld, n, npad, dh, scale};
    int32_t i = 0;
    for (; i + kAttentionRows <= n; i += kAttentionRows) {
      attention_rows<kAttentionRows>(hv, q + i * ld + off, s, ctx + i * ldc + off, ldc);
    }
    if (i < n) {  // the last n % 6 rows
      using Rows = void (*)(const HeadView&, const float*, float*, float*, int64_t);
      constexpr Rows kTail[kAttentionRows] = {nullptr,
                                              &attention_rows<1>,
                                              &attention_rows<2>,
                                              &attention_rows<3>,
                                              &attention_rows<4>,
                                              &attention_rows<5>};
      kTail[n - i](hv, q + i * ld + off, s, ctx + i * ldc + off, ldc);
    }
  }
}

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#endif

void linear_few_rows(const float* x, int64_t ldx, int64_t rows, int32_t in, const float* w,
                     const float* b, int32_t out, float* y, int64_t ldy, bool accumulate,
                     bool portable) {
  auto* kernel = &few_rows_portable;
#ifdef LM_ML_AVX2_KERNEL
  if (!portable && cpu_has_avx2_fma()) {
    kernel = &few_rows_avx2;
  }
#else
  (void)portable;
#endif
  // Column blocks of 4 (the AVX2 kernel's width) split across the threads.
  const int32_t nthreads = tl_product_threads;
  const int32_t blocks = (out + 3) / 4;
#pragma omp parallel for num_threads(nthreads) schedule(static) if (nthreads > 1)
  for (int32_t blk = 0; blk < blocks; ++blk) {
    kernel(x, ldx, rows, in, w, b, blk * 4, std::min(out, blk * 4 + 4), y, ldy, accumulate);
  }
}

}  // namespace

void linear(const float* x, int64_t ldx, int64_t rows, int32_t in, const float* w, const float* b,
            int32_t out, float* y, int64_t ldy, bool accumulate, LinearPath path) {
  if (path == LinearPath::few_rows || path == LinearPath::few_rows_portable ||
      (path == LinearPath::automatic && rows <= kSmallRows)) {
    linear_few_rows(x, ldx, rows, in, w, b, out, y, ldy, accumulate,
                    path == LinearPath::few_rows_portable);
    return;
  }
  if (b != nullptr) {
    for (int64_t r = 0; r < rows; ++r) {
      float* yr = y + r * ldy;
      if (accumulate) {
        for (int32_t j = 0; j < out; ++j) {
          yr[j] += b[j];
        }
      } else {
        std::memcpy(yr, b, sizeof(float) * static_cast<size_t>(out));
      }
    }
  }
  const float beta = accumulate || b != nullptr ? 1.0f : 0.0f;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), out, in, 1.0f, x,
              static_cast<int>(ldx), w, in, beta, y, static_cast<int>(ldy));
}

size_t attention_work_floats(int32_t n, int32_t dh) {
  const size_t npad = (static_cast<size_t>(std::max(n, 0)) + 15) / 16 * 16;
  const size_t fused = (2 * static_cast<size_t>(std::max(dh, 0)) + 1 + 6) * npad + 8;  // + align
  return std::max(static_cast<size_t>(n) * static_cast<size_t>(n), fused);
}

void attention(const float* q, const float* k, const float* v, int64_t ld, float* ctx, int64_t ldc,
               int32_t n, int32_t heads, int32_t dh, float scale, const float* key_keep,
               float* work, AttentionPath path) {
  if (n <= 0) {
    return;
  }
#ifdef LM_ML_AVX2_KERNEL
  // The fused kernel needs a kept key (a row with none is HF's uniform average, left to the
  // general path) and a head width of whole 16-float blocks.
  const bool any_kept = std::any_of(key_keep, key_keep + n, [](float m) { return m != 0.0f; });
  if (path != AttentionPath::blas && any_kept && dh % 16 == 0 && cpu_has_avx2_fma()) {
    attention_avx2(q, k, v, ld, ctx, ldc, n, heads, dh, scale, key_keep, work);
    return;
  }
#else
  (void)path;
#endif
  for (int32_t hd = 0; hd < heads; ++hd) {
    const int64_t off = static_cast<int64_t>(hd) * dh;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dh, scale, q + off,
                static_cast<int>(ld), k + off, static_cast<int>(ld), 0.0f, work, n);
    masked_softmax(work, n, n, key_keep);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, n, 1.0f, work, n, v + off,
                static_cast<int>(ld), 0.0f, ctx + off, static_cast<int>(ldc));
  }
}

EncoderOptions default_encoder_options() { return EncoderOptions{}; }

// ---- Config ----

core::Result<BertConfig> BertConfig::from_json(std::string_view json_text,
                                               const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::Error::invalid("model config '" + source + "' is not a JSON object");
  }
  BertConfig c;
  struct IntField {
    const char* name;
    int32_t* dst;
  };
  const IntField fields[] = {
      {"vocab_size", &c.vocab_size},
      {"hidden_size", &c.hidden_size},
      {"num_hidden_layers", &c.num_hidden_layers},
      {"num_attention_heads", &c.num_attention_heads},
      {"intermediate_size", &c.intermediate_size},
      {"max_position_embeddings", &c.max_position_embeddings},
      {"type_vocab_size", &c.type_vocab_size},
  };
  for (const IntField& f : fields) {
    if (!j.contains(f.name) || !j[f.name].is_number_integer() || j[f.name].get<int64_t>() <= 0 ||
        j[f.name].get<int64_t>() > (int64_t{1} << 30)) {
      return core::Error::invalid("model config '" + source + "': '" + f.name +
                                  "' must be a positive integer");
    }
    *f.dst = j[f.name].get<int32_t>();
  }
  if (c.hidden_size % c.num_attention_heads != 0) {
    return core::Error::invalid("model config '" + source + "': hidden_size " +
                                std::to_string(c.hidden_size) + " is not a multiple of " +
                                "num_attention_heads " + std::to_string(c.num_attention_heads));
  }
  if (j.contains("layer_norm_eps")) {
    if (!j["layer_norm_eps"].is_number() || j["layer_norm_eps"].get<double>() <= 0) {
      return core::Error::invalid("model config '" + source +
                                  "': 'layer_norm_eps' must be a positive number");
    }
    c.layer_norm_eps = j["layer_norm_eps"].get<float>();
  }
  const std::string act = j.value("hidden_act", std::string("gelu"));
  if (act != "gelu") {
    return core::Error::invalid("model config '" + source + "': hidden_act '" + act +
                                "' is not supported (only \"gelu\", the exact erf GELU)");
  }
  const std::string pos = j.value("position_embedding_type", std::string("absolute"));
  if (pos != "absolute") {
    return core::Error::invalid("model config '" + source + "': position_embedding_type '" + pos +
                                "' is not supported (only \"absolute\")");
  }
  if (j.contains("id2label") && j["id2label"].is_object() && !j["id2label"].empty()) {
    c.num_labels = static_cast<int32_t>(j["id2label"].size());
  } else if (j.contains("num_labels") && j["num_labels"].is_number_integer()) {
    c.num_labels = j["num_labels"].get<int32_t>();
  }
  if (c.num_labels <= 0) {
    return core::Error::invalid("model config '" + source + "': num_labels must be positive");
  }
  return c;
}

core::Result<BertConfig> BertConfig::load(const std::string& config_json_path) {
  LM_ASSIGN_OR_RETURN(std::string text, read_file(config_json_path));
  return from_json(text, config_json_path);
}

// ---- Model ----

core::Result<BertModel> BertModel::load(const std::string& safetensors_path,
                                        const BertConfig& config, const EncoderOptions& options) {
  LM_ASSIGN_OR_RETURN(SafeTensors weights, SafeTensors::open(safetensors_path));
  BertModel m(std::move(weights));
  m.config_ = config;
  m.threads_ = std::max<int32_t>(1, options.threads);

  const SafeTensors& st = m.weights_;
  const std::string prefix = st.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  const int64_t h = config.hidden_size;
  const int64_t inter = config.intermediate_size;

  auto get = [&](const std::string& name,
                 std::vector<int64_t> shape) -> core::Result<const float*> {
    LM_ASSIGN_OR_RETURN(TensorView v, st.get(prefix + name, shape));
    return v.data;
  };
  // Checkpoints converted from old TensorFlow ones name LayerNorm parameters gamma/beta.
  auto get_ln = [&](const std::string& base, bool weight) -> core::Result<const float*> {
    const std::string modern = base + (weight ? ".weight" : ".bias");
    const std::string legacy = base + (weight ? ".gamma" : ".beta");
    return get(st.contains(prefix + modern) || !st.contains(prefix + legacy) ? modern : legacy,
               {h});
  };

  LM_ASSIGN_OR_RETURN(m.word_emb_,
                      get("embeddings.word_embeddings.weight", {config.vocab_size, h}));
  LM_ASSIGN_OR_RETURN(m.pos_emb_, get("embeddings.position_embeddings.weight",
                                      {config.max_position_embeddings, h}));
  LM_ASSIGN_OR_RETURN(m.type_emb_,
                      get("embeddings.token_type_embeddings.weight", {config.type_vocab_size, h}));
  LM_ASSIGN_OR_RETURN(m.emb_ln_g_, get_ln("embeddings.LayerNorm", true));
  LM_ASSIGN_OR_RETURN(m.emb_ln_b_, get_ln("embeddings.LayerNorm", false));

  const bool pack = options.packed_products && packed_linear_available();
  std::vector<float> stacked;  // one layer's query, key and value weights, then biases
  for (int32_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    Layer l{};
    stacked.clear();
    std::vector<const float*> qkv_views;
    for (const char* part : {"query", "key", "value"}) {
      LM_ASSIGN_OR_RETURN(const float* w, get(p + "attention.self." + part + ".weight", {h, h}));
      stacked.insert(stacked.end(), w, w + h * h);
      qkv_views.push_back(w);
    }
    for (const char* part : {"query", "key", "value"}) {
      LM_ASSIGN_OR_RETURN(const float* b, get(p + "attention.self." + part + ".bias", {h}));
      stacked.insert(stacked.end(), b, b + h);
    }
    LM_ASSIGN_OR_RETURN(l.ao_w, get(p + "attention.output.dense.weight", {h, h}));
    LM_ASSIGN_OR_RETURN(l.ao_b, get(p + "attention.output.dense.bias", {h}));
    LM_ASSIGN_OR_RETURN(l.ln1_g, get_ln(p + "attention.output.LayerNorm", true));
    LM_ASSIGN_OR_RETURN(l.ln1_b, get_ln(p + "attention.output.LayerNorm", false));
    LM_ASSIGN_OR_RETURN(l.ff1_w, get(p + "intermediate.dense.weight", {inter, h}));
    LM_ASSIGN_OR_RETURN(l.ff1_b, get(p + "intermediate.dense.bias", {inter}));
    LM_ASSIGN_OR_RETURN(l.ff2_w, get(p + "output.dense.weight", {h, inter}));
    LM_ASSIGN_OR_RETURN(l.ff2_b, get(p + "output.dense.bias", {h}));
    LM_ASSIGN_OR_RETURN(l.ln2_g, get_ln(p + "output.LayerNorm", true));
    LM_ASSIGN_OR_RETURN(l.ln2_b, get_ln(p + "output.LayerNorm", false));
    if (pack) {
      const auto hi = static_cast<int32_t>(h);
      const auto ii = static_cast<int32_t>(inter);
      m.packed_.push_back(
          PackedLayer{PackedLinear(stacked.data(), stacked.data() + 3 * h * h, 3 * hi, hi),
                      PackedLinear(l.ao_w, l.ao_b, hi, hi), PackedLinear(l.ff1_w, l.ff1_b, ii, hi),
                      PackedLinear(l.ff2_w, l.ff2_b, hi, ii)});
      // The packed copies are all the layer's products read: its mapped weight pages go back,
      // layer by layer, so resident memory never holds both forms of the weights.
      for (const float* w : qkv_views) {
        st.release(w, h * h);
      }
      st.release(l.ao_w, h * h);
      st.release(l.ff1_w, inter * h);
      st.release(l.ff2_w, h * inter);
    } else {
      m.qkv_.insert(m.qkv_.end(), stacked.begin(), stacked.end());
    }
    m.layers_.push_back(l);
  }
  // Point the layers into qkv_ once it no longer grows (the packed path keeps no stacked copy).
  for (size_t i = 0; i < m.layers_.size() && !pack; ++i) {
    const float* base = m.qkv_.data() + static_cast<int64_t>(i) * (3 * h * h + 3 * h);
    m.layers_[i].qkv_w = base;
    m.layers_[i].qkv_b = base + 3 * h * h;
  }

  if (st.contains(prefix + "pooler.dense.weight") && st.contains("classifier.weight")) {
    LM_ASSIGN_OR_RETURN(m.pooler_w_, get("pooler.dense.weight", {h, h}));
    LM_ASSIGN_OR_RETURN(m.pooler_b_, get("pooler.dense.bias", {h}));
    LM_ASSIGN_OR_RETURN(TensorView cw, st.get("classifier.weight", {config.num_labels, h}));
    LM_ASSIGN_OR_RETURN(TensorView cb, st.get("classifier.bias", {config.num_labels}));
    m.cls_w_ = cw.data;
    m.cls_b_ = cb.data;
    m.has_classifier_ = true;
  }
  return m;
}

core::Result<void> BertModel::forward(const Batch& batch, BertWorkspace* ws) const {
  const int32_t nb = batch.batch_size;
  const int32_t seq = batch.seq_len;
  const int64_t tokens = static_cast<int64_t>(nb) * seq;
  if (nb <= 0 || seq <= 0 || batch.ids.size() != static_cast<size_t>(tokens) ||
      batch.type_ids.size() != static_cast<size_t>(tokens) ||
      batch.attention_mask.size() != static_cast<size_t>(tokens)) {
    return core::Error::invalid(
        "encoder batch: ids, type_ids and attention_mask must each hold "
        "batch_size * seq_len > 0 values");
  }
  if (seq > config_.max_position_embeddings) {
    return core::Error::invalid("encoder batch: sequence length " + std::to_string(seq) +
                                " exceeds max_position_embeddings " +
                                std::to_string(config_.max_position_embeddings));
  }
  for (int64_t t = 0; t < tokens; ++t) {
    if (batch.ids[t] < 0 || batch.ids[t] >= config_.vocab_size) {
      return core::Error::invalid("encoder batch: token id " + std::to_string(batch.ids[t]) +
                                  " outside the vocabulary of " +
                                  std::to_string(config_.vocab_size));
    }
    if (batch.type_ids[t] < 0 || batch.type_ids[t] >= config_.type_vocab_size) {
      return core::Error::invalid("encoder batch: token type id " +
                                  std::to_string(batch.type_ids[t]) + " outside [0, " +
                                  std::to_string(config_.type_vocab_size) + ")");
    }
  }

  const int32_t h = config_.hidden_size;
  const int64_t wide = std::max<int64_t>(4 * static_cast<int64_t>(h), config_.intermediate_size);
  // Sequences are split into groups of about equal token counts, one per thread, each group run
  // through all layers on its own rows; OpenBLAS then runs single-threaded in each. With fewer
  // sequences than threads (a single query), OpenBLAS's own threads split the matrix products.
  const int32_t groups = std::min(threads_, nb);
  ws->hidden.resize(static_cast<size_t>(tokens * h));
  ws->scratch.resize(static_cast<size_t>(tokens * h));
  ws->qkvc.resize(static_cast<size_t>(tokens * wide));
  const size_t work = attention_work_floats(seq, h / config_.num_attention_heads);
  const size_t per_thread = work + seq;  // attention work + key mask
  ws->scores.resize(static_cast<size_t>(groups) * per_thread);
  ws->batch_size = nb;
  ws->seq_len = seq;

  if (groups <= 1) {
    openblas_set_num_threads(threads_);
    tl_product_threads = threads_;
    run_sequences(batch, 0, nb, ws->scores.data(), ws);
    tl_product_threads = 1;
    return core::ok();
  }
  openblas_set_num_threads(1);
  std::vector<int32_t> bounds(static_cast<size_t>(groups) + 1, nb);
  bounds[0] = 0;
  {
    int64_t real = 0;
    for (int32_t m : batch.attention_mask) {
      real += m != 0 ? 1 : 0;
    }
    int64_t seen = 0;
    int32_t g = 1;
    for (int32_t b = 0; b < nb && g < groups; ++b) {
      for (int32_t s = 0; s < seq; ++s) {
        seen += batch.attention_mask[static_cast<size_t>(b) * seq + s] != 0 ? 1 : 0;
      }
      if (seen * groups >= real * g) {
        bounds[g++] = b + 1;
      }
    }
  }
  std::vector<std::thread> workers;
  for (int32_t g = 1; g < groups; ++g) {
    if (bounds[g] < bounds[g + 1]) {
      workers.emplace_back([&, g] {
        run_sequences(batch, bounds[g], bounds[g + 1],
                      ws->scores.data() + static_cast<size_t>(g) * per_thread, ws);
      });
    }
  }
  run_sequences(batch, bounds[0], bounds[1], ws->scores.data(), ws);
  for (std::thread& t : workers) {
    t.join();
  }
  return core::ok();
}

namespace {

// Self-attention of `sequences` sequences of seq rows each: q|k|v|context per row of the qkvc
// buffer at q (stride wide); `scores` holds attention_work_floats(seq, dh) + seq floats.
void attend_sequences(const int32_t* masks, int32_t sequences, int32_t seq, int32_t heads,
                      int32_t dh, float* q, int64_t wide, float* scores) {
  const int32_t h = heads * dh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const size_t work = attention_work_floats(seq, dh);
  float* k = q + h;
  float* v = q + 2 * h;
  float* ctx = q + 3 * h;
  for (int32_t b = 0; b < sequences; ++b) {
    const int64_t row0 = static_cast<int64_t>(b) * seq;
    const int32_t* mask = masks + row0;
    // Attention only needs rows up to the last real token: later rows are padding whose
    // outputs nobody reads (keys there are masked out); their context is set to zero.
    int32_t n = 0;
    for (int32_t s = 0; s < seq; ++s) {
      if (mask[s] != 0) {
        n = s + 1;
      }
    }
    if (n == 0) {
      n = seq;  // all padding: HF's uniform attention over every position
    }
    float* keep = scores + work;
    for (int32_t s = 0; s < n; ++s) {
      keep[s] = mask[s] != 0 ? 1.0f : 0.0f;
    }
    const int64_t off = row0 * wide;
    attention(q + off, k + off, v + off, wide, ctx + off, wide, n, heads, dh, scale, keep, scores);
    for (int32_t s = n; s < seq; ++s) {
      std::memset(ctx + (row0 + s) * wide, 0, sizeof(float) * static_cast<size_t>(h));
    }
  }
}

}  // namespace

void BertModel::run_layers_packed(const int32_t* masks, int32_t sequences, int32_t seq, float* x,
                                  float* q, float* scores) const {
  const int32_t h = config_.hidden_size;
  const int32_t heads = config_.num_attention_heads;
  const int64_t wide = std::max<int64_t>(4 * static_cast<int64_t>(h), config_.intermediate_size);
  const int64_t rows = static_cast<int64_t>(sequences) * seq;
  const float eps = config_.layer_norm_eps;
  // A single sequence (a query) splits each product's outputs across the encoder's threads.
  const int32_t threads = tl_product_threads;
  float* ctx = q + 3 * h;
  float* ff = q;  // the feed-forward intermediate reuses a row block's q|k|v|context, dead by then
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    const PackedLayer& p = packed_[i];
    linear_packed(x, h, rows, p.qkv, {}, q, wide, threads);
    attend_sequences(masks, sequences, seq, heads, h / heads, q, wide, scores);
    for (int64_t r0 = 0; r0 < rows; r0 += kPackedPassRows) {
      const int64_t n = std::min(kPackedPassRows, rows - r0);
      float* xr = x + r0 * h;
      // x = LayerNorm((x + bo) + ctx Wo^T)
      linear_packed(ctx + r0 * wide, wide, n, p.ao, {.residual = xr, .ld_residual = h}, xr, h,
                    threads);
      layer_norm(xr, n, h, l.ln1_g, l.ln1_b, eps);
      // x = LayerNorm((x + b2) + gelu(x W1^T + b1) W2^T)
      linear_packed(xr, h, n, p.ff1, {.gelu = true}, ff + r0 * wide, wide, threads);
      linear_packed(ff + r0 * wide, wide, n, p.ff2, {.residual = xr, .ld_residual = h}, xr, h,
                    threads);
      layer_norm(xr, n, h, l.ln2_g, l.ln2_b, eps);
    }
  }
}

void BertModel::run_sequences(const Batch& batch, int32_t b_begin, int32_t b_end, float* scores,
                              BertWorkspace* ws) const {
  const int32_t seq = batch.seq_len;
  const int32_t h = config_.hidden_size;
  const int32_t inter = config_.intermediate_size;
  const int32_t heads = config_.num_attention_heads;
  const int64_t wide = std::max<int64_t>(4 * static_cast<int64_t>(h), inter);
  const int64_t row_begin = static_cast<int64_t>(b_begin) * seq;
  const int64_t rows = static_cast<int64_t>(b_end - b_begin) * seq;
  if (rows <= 0) {
    return;
  }
  float* x = ws->hidden.data() + row_begin * h;
  float* tmp = ws->scratch.data() + row_begin * h;
  // Per row of qkvc: q | k | v | context, each `h` wide; the feed-forward intermediate reuses
  // the same row (they are dead by then), so groups of rows never touch each other's memory.
  float* q = ws->qkvc.data() + row_begin * wide;
  float* ctx = q + 3 * h;
  float* ff = q;
  const int32_t* ids = batch.ids.data() + row_begin;
  const int32_t* types = batch.type_ids.data() + row_begin;
  const int32_t* masks = batch.attention_mask.data() + row_begin;

  // Embeddings: word + token type + position (HF's order of additions), then LayerNorm.
  for (int64_t t = 0; t < rows; ++t) {
    const float* we = word_emb_ + static_cast<int64_t>(ids[t]) * h;
    const float* te = type_emb_ + static_cast<int64_t>(types[t]) * h;
    const float* pe = pos_emb_ + static_cast<int64_t>(t % seq) * h;
    float* xr = x + t * h;
    for (int32_t j = 0; j < h; ++j) {
      xr[j] = (we[j] + te[j]) + pe[j];
    }
  }
  layer_norm(x, rows, h, emb_ln_g_, emb_ln_b_, config_.layer_norm_eps);
  if (!packed_.empty()) {
    run_layers_packed(masks, b_end - b_begin, seq, x, q, scores);
    return;
  }

  for (const Layer& l : layers_) {
    linear(x, h, rows, h, l.qkv_w, l.qkv_b, 3 * h, q, wide, false);

    attend_sequences(masks, b_end - b_begin, seq, heads, h / heads, q, wide, scores);

    // tmp = (x + bo) + ctx * Wo^T; x = LayerNorm(tmp). The residual and the bias go in as one
    // pass, the product is added to them.
    add_bias(x, rows, h, l.ao_b, tmp);
    linear(ctx, wide, rows, h, l.ao_w, nullptr, h, tmp, h, true);
    layer_norm(tmp, rows, h, l.ln1_g, l.ln1_b, config_.layer_norm_eps);
    std::swap(x, tmp);

    // ff = gelu(x * W1^T + b1); tmp = (x + b2) + ff * W2^T; x = LayerNorm(tmp)
    linear(x, h, rows, h, l.ff1_w, l.ff1_b, inter, ff, wide, false);
    for (int64_t r = 0; r < rows; ++r) {
      gelu(ff + r * wide, inter);
    }
    add_bias(x, rows, h, l.ff2_b, tmp);
    linear(ff, wide, rows, inter, l.ff2_w, nullptr, h, tmp, h, true);
    layer_norm(tmp, rows, h, l.ln2_g, l.ln2_b, config_.layer_norm_eps);
    std::swap(x, tmp);
  }
  // Two swaps per layer: the result is back in ws->hidden.
}

core::Result<void> BertModel::classify(BertWorkspace* ws, std::vector<float>* logits) const {
  if (!has_classifier_) {
    return core::Error::invalid("model '" + weights_.path() +
                                "' has no pooler/classifier tensors (not a cross-encoder)");
  }
  const int32_t nb = ws->batch_size;
  const int32_t h = config_.hidden_size;
  if (nb <= 0 || ws->hidden.size() < static_cast<size_t>(nb) * ws->seq_len * h) {
    return core::Error::internal("classify() called without a forward() on this workspace");
  }
  ws->pooled.resize(static_cast<size_t>(nb) * h);
  cls_pool(ws->hidden.data(), nb, ws->seq_len, h, ws->scratch.data());
  linear(ws->scratch.data(), h, nb, h, pooler_w_, pooler_b_, h, ws->pooled.data(), h, false);
  for (float& p : ws->pooled) {
    p = std::tanh(p);
  }
  logits->resize(static_cast<size_t>(nb) * config_.num_labels);
  linear(ws->pooled.data(), h, nb, h, cls_w_, cls_b_, config_.num_labels, logits->data(),
         config_.num_labels, false);
  return core::ok();
}

// ---- Kernels ----

namespace {

// sum(x[i] + add), or of its squares, over n floats in kBlock lanes (vectorised).
inline float lane_sum(const float* x, int32_t n, float add, bool square) {
  float lane[kBlock] = {};
  int32_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    const float* xb = x + i;
    for (int32_t j = 0; j < kBlock; ++j) {
      const float v = xb[j] + add;
      lane[j] += square ? v * v : v;
    }
  }
  float sum = reduce_lanes(lane);
  for (; i < n; ++i) {
    const float v = x[i] + add;
    sum += square ? v * v : v;
  }
  return sum;
}

}  // namespace

LM_ML_SIMD_CLONES void add_bias(const float* x, int64_t rows, int32_t cols, const float* b,
                                float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    for (int32_t j = 0; j < cols; ++j) {
      yr[j] = xr[j] + b[j];
    }
  }
}

// Sums in 16 float lanes rather than one double: each lane adds at most cols / 16 terms (24
// for hidden 384), so the rounding stays near 1e-7 relative, and the loops vectorise (the
// scalar double sums were 4% of a catalogue pass).
LM_ML_SIMD_CLONES void layer_norm(float* x, int64_t rows, int32_t cols, const float* gamma,
                                  const float* beta, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    float* xr = x + r * cols;
    const float mean = lane_sum(xr, cols, 0.0f, false) / static_cast<float>(cols);
    const float var = lane_sum(xr, cols, -mean, true) / static_cast<float>(cols);
    const float inv = 1.0f / std::sqrt(var + eps);
    for (int32_t j = 0; j < cols; ++j) {
      xr[j] = (xr[j] - mean) * inv * gamma[j] + beta[j];
    }
  }
}

LM_ML_SIMD_CLONES void gelu(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    float* xb = x + i;
    for (int32_t j = 0; j < kBlock; ++j) {
      xb[j] = 0.5f * xb[j] * (1.0f + erf_approx(xb[j] * kSqrtHalf));
    }
  }
  for (; i < n; ++i) {
    x[i] = 0.5f * x[i] * (1.0f + erf_approx(x[i] * kSqrtHalf));
  }
}

namespace {

// One block of exp_shifted. __restrict on parameters (where GCC honours it) tells the
// vectoriser the two arrays are distinct: at -O2 it will not add a runtime overlap check.
inline void exp_shifted_block(float* __restrict x, const float* __restrict keep, float shift) {
  for (int32_t j = 0; j < kBlock; ++j) {
    x[j] = exp_approx(x[j] - shift) * keep[j];
  }
}

// x[i] = exp(x[i] - shift) * keep[i]
LM_ML_SIMD_CLONES void exp_shifted(float* x, const float* keep, int64_t n, float shift) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    exp_shifted_block(x + i, keep + i, shift);
  }
  for (; i < n; ++i) {
    x[i] = exp_approx(x[i] - shift) * keep[i];
  }
}

}  // namespace

LM_ML_SIMD_CLONES void masked_softmax(float* scores, int32_t rows, int32_t cols,
                                      const float* key_keep) {
  for (int32_t r = 0; r < rows; ++r) {
    float* sr = scores + static_cast<int64_t>(r) * cols;
    // Per-lane partial maxima and sums keep the loops vectorisable without reassociation.
    float lane_max[kBlock];
    std::fill(lane_max, lane_max + kBlock, -INFINITY);
    int32_t c = 0;
    for (; c + kBlock <= cols; c += kBlock) {
      const float* sb = sr + c;
      const float* kb = key_keep + c;
      for (int32_t j = 0; j < kBlock; ++j) {
        // A masked key counts as -3e38: below any real score, and no branch.
        const float v = sb[j] * kb[j] + (kb[j] - 1.0f) * 3.0e38f;
        lane_max[j] = v > lane_max[j] ? v : lane_max[j];
      }
    }
    float mx = -INFINITY;
    for (; c < cols; ++c) {
      const float v = key_keep[c] != 0.0f ? sr[c] : -INFINITY;
      mx = v > mx ? v : mx;
    }
    for (int32_t j = 0; j < kBlock; ++j) {
      mx = lane_max[j] > mx ? lane_max[j] : mx;
    }
    if (mx == -INFINITY) {
      for (c = 0; c < cols; ++c) {
        sr[c] = 1.0f / static_cast<float>(cols);
      }
      continue;
    }
    // exp, then the sum, in separate passes: each is a plain loop the vectoriser takes.
    exp_shifted(sr, key_keep, cols, mx);
    float lane_sum[kBlock] = {};
    c = 0;
    for (; c + kBlock <= cols; c += kBlock) {
      const float* sb = sr + c;
      for (int32_t j = 0; j < kBlock; ++j) {
        lane_sum[j] += sb[j];
      }
    }
    float sum = 0.0f;
    for (; c < cols; ++c) {
      sum += sr[c];
    }
    for (int32_t j = 0; j < kBlock; ++j) {
      sum += lane_sum[j];
    }
    const float inv = 1.0f / sum;
    c = 0;
    for (; c + kBlock <= cols; c += kBlock) {
      float* sb = sr + c;
      for (int32_t j = 0; j < kBlock; ++j) {
        sb[j] *= inv;
      }
    }
    for (; c < cols; ++c) {
      sr[c] *= inv;
    }
  }
}

void mean_pool(const float* hidden, const int32_t* mask, int32_t batch, int32_t seq, int32_t dim,
               float* out) {
  for (int32_t b = 0; b < batch; ++b) {
    float* o = out + static_cast<int64_t>(b) * dim;
    std::fill(o, o + dim, 0.0f);
    int32_t count = 0;
    for (int32_t s = 0; s < seq; ++s) {
      const int64_t t = static_cast<int64_t>(b) * seq + s;
      if (mask[t] == 0) {
        continue;
      }
      ++count;
      const float* hr = hidden + t * dim;
      for (int32_t j = 0; j < dim; ++j) {
        o[j] += hr[j];
      }
    }
    // sentence-transformers divides by clamp(count, min=1e-9).
    const float denom = std::max(static_cast<float>(count), 1e-9f);
    for (int32_t j = 0; j < dim; ++j) {
      o[j] /= denom;
    }
  }
}

void cls_pool(const float* hidden, int32_t batch, int32_t seq, int32_t dim, float* out) {
  for (int32_t b = 0; b < batch; ++b) {
    std::memcpy(out + static_cast<int64_t>(b) * dim, hidden + static_cast<int64_t>(b) * seq * dim,
                sizeof(float) * static_cast<size_t>(dim));
  }
}

void l2_normalize(float* v, int32_t dim) {
  double sq = 0.0;
  for (int32_t j = 0; j < dim; ++j) {
    sq += static_cast<double>(v[j]) * v[j];
  }
  const float inv = 1.0f / std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
  for (int32_t j = 0; j < dim; ++j) {
    v[j] *= inv;
  }
}

}  // namespace libromind::ml
