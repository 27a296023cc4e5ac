/*
 * Benchmark aid, never linked into Sen: makes every fsync/fdatasync of a process take at
 * least SEN_FLUSH_US microseconds (default 3300, a disk of about 300 flushes per second), so
 * that the submission budget of issue #2 can be measured on a machine whose disk flushes
 * faster than the one the budget was written for.
 *
 *   gcc -O2 -shared -fPIC -o /tmp/slow-flush.so scripts/bench/slow-flush.c -ldl
 *   LD_PRELOAD=/tmp/slow-flush.so ./target/release/sen serve ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long flush_ns(void) {
    static long ns = -1;
    if (ns < 0) {
        const char *v = getenv("SEN_FLUSH_US");
        ns = (v ? atol(v) : 3300) * 1000L;
    }
    return ns;
}

/* Sleeps until `ns` after `start`: the flush as a whole takes at least that long. */
static void pad(const struct timespec *start) {
    struct timespec until = *start;
    until.tv_nsec += flush_ns();
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) != 0) {
    }
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int r = real(fd);
    pad(&start);
    return r;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int r = real(fd);
    pad(&start);
    return r;
}
