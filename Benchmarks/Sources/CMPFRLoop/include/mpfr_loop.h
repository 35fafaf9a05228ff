#ifndef MPFR_LOOP_H
#define MPFR_LOOP_H
#include <stddef.h>

/// softmax(x) with MPFR at `precision` bits, round-to-nearest at every step: set the precision
/// once, then mpfr_exp and mpfr_add per element, mpfr_div per element, mpfr_get_d. No shift by
/// the maximum (exp cannot overflow in MPFR's exponent range), no certification: the baseline.
void mpfr_loop_softmax(const double *x, double *out, size_t k, long precision);

/// MPFR's version string, e.g. "4.2.0".
const char *mpfr_loop_version(void);

#endif
