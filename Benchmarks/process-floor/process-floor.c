// process-floor: the least work any `softmax-oracle eval` process must do on one request, and
// nothing else, so that tier-grid can say how fast a process that answers the request could be.
//
//   process-floor OUTPUT_BYTES < REQUEST > OUT
//
// It reads every 8-byte word of standard input once (a sum, so that the reads are not optimized
// away) and writes OUTPUT_BYTES bytes (the size of the oracle's answer, which tier-grid measures)
// to standard output, then exits 0. No parsing, no arithmetic on the values, no checks: it
// answers nothing. It does both in the cheapest way a process has: a regular file on stdin is
// mapped (mmap: the page cache's own pages, no copy and no fresh memory to zero), anything else
// is read into one heap block; the answer is written from one 64 KiB buffer used again and again
// (no fresh memory for it either). The oracle cannot do that: its answer's values exist at once,
// in memory, before they are written. scripts/tier-grid.sh links it the way the
// oracle's CLI is linked (statically when the CLI is), so the two pay the same process start-up
// (exec, the C library's initialisation, page faults, exit).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: process-floor OUTPUT_BYTES < REQUEST\n");
        return 2;
    }
    char *end = NULL;
    unsigned long long out = strtoull(argv[1], &end, 10);
    if (*argv[1] == 0 || *end != 0) {
        fprintf(stderr, "process-floor: OUTPUT_BYTES must be a non-negative integer, got \"%s\"\n", argv[1]);
        return 2;
    }
    struct stat st;
    const unsigned char *in = NULL;
    size_t n = 0;
    if (fstat(0, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *mapped = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, 0, 0);
        if (mapped != MAP_FAILED) {
            in = mapped;
            n = (size_t)st.st_size;
        }
    }
    if (!in) {
        size_t capacity = 1 << 16;
        unsigned char *block = malloc(capacity);
        if (!block) { fprintf(stderr, "process-floor: out of memory\n"); return 1; }
        for (;;) {
            if (n == capacity) {
                capacity *= 2;
                unsigned char *grown = realloc(block, capacity);
                if (!grown) { fprintf(stderr, "process-floor: out of memory\n"); return 1; }
                block = grown;
            }
            ssize_t got = read(0, block + n, capacity - n);
            if (got < 0) { perror("process-floor: read"); return 1; }
            if (got == 0) break;
            n += (size_t)got;
        }
        in = block;
    }
    uint64_t sum = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, in + i, 8);
        sum += w;
    }
    static unsigned char answer[1 << 16];
    memset(answer, (int)(sum & 0x7f), sizeof answer);
    for (unsigned long long done = 0; done < out;) {
        size_t chunk = out - done < sizeof answer ? (size_t)(out - done) : sizeof answer;
        ssize_t put = write(1, answer, chunk);
        if (put < 0) { perror("process-floor: write"); return 1; }
        done += (unsigned long long)put;
    }
    return 0;
}
