#ifndef CMPFR_SHIM_H
#define CMPFR_SHIM_H
// mpfr.h declares its FILE* functions only when stdio.h comes first, and its intmax_t ones after stdint.h.
#include <stdio.h>
#include <stdint.h>
#include <gmp.h>
#include <mpfr.h>

// MPFR implements a few accessors as macros that Swift cannot call; these wrap them.
static inline int cmpfr_signbit(mpfr_srcptr x) { return mpfr_signbit(x); }
static inline int cmpfr_sgn(mpfr_srcptr x) { return mpfr_sgn(x); }
static inline mpfr_exp_t cmpfr_get_exp(mpfr_srcptr x) { return mpfr_get_exp(x); }
static inline int cmpfr_nan_p(mpfr_srcptr x) { return mpfr_nan_p(x); }
static inline int cmpfr_inf_p(mpfr_srcptr x) { return mpfr_inf_p(x); }
static inline int cmpfr_zero_p(mpfr_srcptr x) { return mpfr_zero_p(x); }
// Exact hexadecimal text of x ("%Ra"), for messages and debugging.
static inline int cmpfr_hex(char *buf, size_t n, mpfr_srcptr x) { return mpfr_snprintf(buf, n, "%Ra", x); }
static inline mpfr_prec_t cmpfr_get_prec(mpfr_srcptr x) { return mpfr_get_prec(x); }
// The custom interface (MPFR manual, "Custom Interface"): some are macros as well as functions.
static inline size_t cmpfr_custom_get_size(mpfr_prec_t p) { return mpfr_custom_get_size(p); }
static inline void cmpfr_custom_init_set(mpfr_ptr x, mpfr_prec_t p, void *significand) {
    mpfr_custom_init(significand, p);
    mpfr_custom_init_set(x, MPFR_NAN_KIND, 0, p, significand);
}
// A number's parts for a compact copy (`CompactFloats`): its kind with its sign (MPFR_*_KIND times
// -1 for a negative number; NaN's sign is not kept), exponent (regular numbers) and significand.
static inline int cmpfr_custom_get_kind(mpfr_srcptr x) { return mpfr_custom_get_kind(x); }
static inline mpfr_exp_t cmpfr_custom_get_exp(mpfr_srcptr x) { return mpfr_custom_get_exp(x); }
static inline const void *cmpfr_custom_get_significand(mpfr_srcptr x) { return mpfr_custom_get_significand(x); }
// x = the number of kind k (signed), exponent e (regular numbers) and significand m of p bits.
static inline void cmpfr_custom_init_set_kind(mpfr_ptr x, int k, mpfr_exp_t e, mpfr_prec_t p, void *m) {
    mpfr_custom_init_set(x, k, e, p, m);
}
#endif
