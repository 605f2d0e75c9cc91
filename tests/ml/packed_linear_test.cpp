#include "ml/packed_linear.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

namespace libromind::ml {
namespace {

double gelu_exact(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }

// linear_packed against a double-precision product, over shapes around the kernel's edges: row
// counts that are not multiples of its 6-row blocks or of its 72-row passes, output counts that
// leave a partial 16-wide panel, odd inner sizes, strided rows, every epilogue, the residual in
// place, and one and two threads.
TEST(PackedLinear, agrees_with_a_double_precision_product_for_every_epilogue) {
  if (!packed_linear_available()) {
    GTEST_SKIP() << "no AVX2/FMA on this CPU";
  }
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  struct Shape {
    int64_t rows;
    int32_t in;
    int32_t out;
  };
  const Shape shapes[] = {{1, 384, 384},  {2, 8, 5},      {5, 13, 16},  {6, 37, 17},
                          {7, 64, 33},    {13, 1, 48},    {73, 40, 20}, {150, 96, 64},
                          {31, 1536, 24}, {12, 384, 1536}};
  enum class Kind { plain, gelu, residual, residual_in_place };
  for (const Shape& sh : shapes) {
    const int64_t ldx = sh.in + 3;
    const int64_t ldy = sh.out + 5;
    std::vector<float> x(static_cast<size_t>(sh.rows * ldx));
    std::vector<float> w(static_cast<size_t>(sh.out) * sh.in);
    std::vector<float> b(static_cast<size_t>(sh.out));
    std::vector<float> r(static_cast<size_t>(sh.rows * ldy));
    std::vector<float> y0(static_cast<size_t>(sh.rows * ldy));
    for (auto* v : {&x, &w, &b, &r, &y0}) {
      for (float& f : *v) {
        f = u(rng);
      }
    }
    for (bool with_bias : {true, false}) {
      const PackedLinear packed(w.data(), with_bias ? b.data() : nullptr, sh.out, sh.in);
      ASSERT_EQ(packed.out(), sh.out);
      ASSERT_EQ(packed.in(), sh.in);
      for (Kind kind : {Kind::plain, Kind::gelu, Kind::residual, Kind::residual_in_place}) {
        for (int32_t threads : {1, 2}) {
          std::vector<float> y = kind == Kind::residual_in_place ? r : y0;
          LinearEpilogue ep;
          ep.gelu = kind == Kind::gelu;
          if (kind == Kind::residual) {
            ep.residual = r.data();
            ep.ld_residual = ldy;
          } else if (kind == Kind::residual_in_place) {
            ep.residual = y.data();
            ep.ld_residual = ldy;
          }
          linear_packed(x.data(), ldx, sh.rows, packed, ep, y.data(), ldy, threads);
          for (int64_t i = 0; i < sh.rows; ++i) {
            for (int32_t o = 0; o < sh.out; ++o) {
              double dot = 0;
              for (int32_t k = 0; k < sh.in; ++k) {
                dot += static_cast<double>(x[i * ldx + k]) * w[static_cast<size_t>(o) * sh.in + k];
              }
              const double bias = with_bias ? b[o] : 0.0;
              double want = dot + bias;
              if (kind == Kind::gelu) {
                want = gelu_exact(want);
              } else if (kind != Kind::plain) {
                want += r[i * ldy + o];
              }
              ASSERT_NEAR(y[i * ldy + o], want, 2e-4)
                  << "rows " << sh.rows << " in " << sh.in << " out " << sh.out << " row " << i
                  << " col " << o << " kind " << static_cast<int>(kind) << " threads " << threads
                  << " bias " << with_bias;
            }
            // The columns between rows are left alone.
            const std::vector<float>& before = kind == Kind::residual_in_place ? r : y0;
            for (int64_t o = sh.out; o < ldy; ++o) {
              ASSERT_EQ(y[i * ldy + o], before[i * ldy + o]);
            }
          }
        }
      }
    }
  }
}

// The GELU epilogue alone (one input of weight 1, bias 0): the exact erf form within 1e-6 of a
// double-precision reference from -8 to 8, saturating to 0 and x beyond.
TEST(PackedLinear, gelu_epilogue_is_the_exact_erf_form) {
  if (!packed_linear_available()) {
    GTEST_SKIP() << "no AVX2/FMA on this CPU";
  }
  const float one = 1.0f;
  const PackedLinear identity(&one, nullptr, 1, 1);
  std::vector<float> x;
  for (float v = -8.0f; v <= 8.0f; v += 1.0f / 64) {
    x.push_back(v);
  }
  std::vector<float> y(x.size());
  linear_packed(x.data(), 1, static_cast<int64_t>(x.size()), identity, {.gelu = true}, y.data(), 1);
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_NEAR(y[i], gelu_exact(x[i]), 1e-6) << "x = " << x[i];
  }
}

TEST(PackedLinear, pads_panels_with_zeros_and_keeps_the_bias) {
  // 3 outputs of 2 inputs: one panel, outputs 3..15 zero.
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {0.5f, -1, 2};
  PackedLinear p(w.data(), b.data(), 3, 2);
  ASSERT_EQ(p.panels(), 1);
  EXPECT_EQ(p.panel(0)[0], 1.0f);   // k 0, output 0
  EXPECT_EQ(p.panel(0)[1], 3.0f);   // k 0, output 1
  EXPECT_EQ(p.panel(0)[2], 5.0f);   // k 0, output 2
  EXPECT_EQ(p.panel(0)[3], 0.0f);   // k 0, output 3: padding
  EXPECT_EQ(p.panel(0)[16], 2.0f);  // k 1, output 0
  EXPECT_EQ(p.bias()[1], -1.0f);
  EXPECT_EQ(p.bias()[3], 0.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p.panel(0)) % 64, 0u);
  const PackedLinear moved = std::move(p);
  EXPECT_EQ(moved.panel(0)[2], 5.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(moved.panel(0)) % 64, 0u);
}

}  // namespace
}  // namespace libromind::ml
