// The coefficients of the rational erf approximation the encoder's GELU uses (Eigen's
// generic_fast_erf_float, the same form as XLA's): erf(x) = x * P(x^2) / Q(x^2) for |x| <= 4,
// |error| < 2e-7; erf is +-1 in float beyond. One table for the scalar form (bert.cpp) and the
// AVX2 one (packed_linear.cpp), highest power first, for Horner's rule.
#pragma once

namespace libromind::ml::erf_approx_coefficients {

inline constexpr float kClamp = 4.0f;
inline constexpr float kP[] = {
    -2.72614225801306e-10f, 2.77068142495902e-08f,  -2.10102402082508e-06f, -5.69250639462346e-05f,
    -7.34990630326855e-04f, -2.95459980854025e-03f, -1.60960333262415e-02f};
inline constexpr float kQ[] = {-1.45660718464996e-05f, -2.13374055278905e-04f,
                               -1.68282697438203e-03f, -7.37332916720468e-03f,
                               -1.42647390514189e-02f};

}  // namespace libromind::ml::erf_approx_coefficients
