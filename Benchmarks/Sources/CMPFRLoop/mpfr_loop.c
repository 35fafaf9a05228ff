#include <stdio.h>
#include <stdlib.h>
#include <gmp.h>
#include <mpfr.h>
#include "mpfr_loop.h"

void mpfr_loop_softmax(const double *x, double *out, size_t k, long precision) {
    mpfr_t sum, t;
    mpfr_t *e = malloc(sizeof(mpfr_t) * (k ? k : 1));
    mpfr_init2(sum, precision);
    mpfr_init2(t, precision);
    mpfr_set_zero(sum, 1);
    for (size_t i = 0; i < k; i++) {
        mpfr_init2(e[i], precision);
        mpfr_set_d(t, x[i], MPFR_RNDN);
        mpfr_exp(e[i], t, MPFR_RNDN);
        mpfr_add(sum, sum, e[i], MPFR_RNDN);
    }
    for (size_t i = 0; i < k; i++) {
        mpfr_div(t, e[i], sum, MPFR_RNDN);
        out[i] = mpfr_get_d(t, MPFR_RNDN);
        mpfr_clear(e[i]);
    }
    mpfr_clear(sum);
    mpfr_clear(t);
    free(e);
}

const char *mpfr_loop_version(void) { return mpfr_get_version(); }
