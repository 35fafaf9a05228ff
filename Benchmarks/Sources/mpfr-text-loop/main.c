// mpfr-text-loop: the whole-process baseline of bench-io. Reads decimal logits from a text file
// (whitespace- or comma-separated, as strtod reads them), runs the plain 128-bit MPFR softmax loop
// of CMPFRLoop on them, and prints each result as C's %a, one per line.
//
//   mpfr-text-loop FILE [--quiet]     (--quiet: compute, print nothing)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mpfr_loop.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: mpfr-text-loop FILE [--quiet]\n");
        return 2;
    }
    int quiet = argc > 2 && strcmp(argv[2], "--quiet") == 0;
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) { perror("read"); return 1; }
    text[size] = 0;
    fclose(f);
    size_t capacity = 1024, k = 0;
    double *x = malloc(capacity * sizeof(double));
    char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == ',' || *p == '\r' || *p == '\t') p++;
        if (!*p) break;
        char *end;
        double v = strtod(p, &end);
        if (end == p) { fprintf(stderr, "not a number at byte %ld\n", (long)(p - text)); return 1; }
        if (k == capacity) { capacity *= 2; x = realloc(x, capacity * sizeof(double)); }
        x[k++] = v;
        p = end;
    }
    double *out = malloc((k ? k : 1) * sizeof(double));
    mpfr_loop_softmax(x, out, k, 128);
    if (!quiet) for (size_t i = 0; i < k; i++) printf("%a\n", out[i]);
    free(text); free(x); free(out);
    return 0;
}
