/* Baseline for the cerebellum benchmark: the best a plain 1 kHz loop gets on this machine.
 *
 * A loop on absolute CLOCK_MONOTONIC deadlines (clock_nanosleep TIMER_ABSTIME), the same
 * schedule as robot_control.common.periodic.PeriodicLoop, with the same timer slack
 * (PR_SET_TIMERSLACK 1000 ns) and the same overrun rule: after a late cycle, skip to the
 * next future deadline and count the skipped periods as missed. Records wake lateness
 * (actual wake - deadline) per period and prints one JSON object on stdout.
 *
 *   loop_baseline [duration_s=30] [period_us=1000] [rt_priority=0]
 *
 * rt_priority > 0 asks for SCHED_FIFO at that priority (as PeriodicLoop's realtime_priority
 * does); "realtime" in the output says whether it was granted.
 *
 * Build: gcc -O2 -o loop_baseline loop_baseline.c   (bench/cerebellum.py does this)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double percentile_us(const int64_t *sorted, size_t n, double p) {
    /* Linear interpolation between closest ranks, like numpy.percentile's default. */
    if (n == 0) return 0.0;
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double frac = rank - (double)lo;
    return ((double)sorted[lo] * (1.0 - frac) + (double)sorted[hi] * frac) / 1000.0;
}

int main(int argc, char **argv) {
    double duration_s = argc > 1 ? atof(argv[1]) : 30.0;
    double period_us = argc > 2 ? atof(argv[2]) : 1000.0;
    int rt_priority = argc > 3 ? atoi(argv[3]) : 0;
    if (duration_s <= 0 || period_us <= 0 || rt_priority < 0) {
        fprintf(stderr, "usage: %s [duration_s>0] [period_us>0] [rt_priority>=0]\n", argv[0]);
        return 2;
    }
    const int64_t period = (int64_t)(period_us * 1000.0);
    const size_t capacity = (size_t)(duration_s * 1e9 / (double)period) + 16;
    int64_t *lateness = malloc(capacity * sizeof *lateness);
    if (lateness == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    int slack_ok = prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0) == 0;
    int realtime = 0;
    if (rt_priority > 0) {
        struct sched_param sp = {.sched_priority = rt_priority};
        realtime = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
    }

    int64_t start = now_ns();
    int64_t end = start + (int64_t)(duration_s * 1e9);
    int64_t deadline = start + period;
    size_t periods = 0;
    int64_t missed = 0;
    volatile uint64_t sink = 0;

    while (deadline <= end && periods < capacity) {
        struct timespec ts = {(time_t)(deadline / 1000000000LL), (long)(deadline % 1000000000LL)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
            /* EINTR: sleep again until the same absolute deadline */
        }
        int64_t woke = now_ns();
        lateness[periods++] = woke - deadline;
        sink += (uint64_t)woke; /* a token "body" so the loop is not optimised away */
        deadline += period;
        int64_t now = now_ns();
        if (now >= deadline) { /* overran: skip to the next future deadline */
            int64_t skipped = (now - deadline) / period + 1;
            missed += skipped;
            deadline += skipped * period;
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;

    qsort(lateness, periods, sizeof *lateness, cmp_i64);
    double mean = 0.0;
    for (size_t i = 0; i < periods; i++) mean += (double)lateness[i];
    mean = periods ? mean / (double)periods / 1000.0 : 0.0;
    int64_t total = (int64_t)periods + missed;
    printf("{\"periods\": %zu, \"missed\": %lld, \"missed_pct\": %.6f, \"rate_hz\": %.3f, "
           "\"elapsed_s\": %.3f, \"period_us\": %.1f, \"timer_slack_ns\": %s, \"realtime\": %s, "
           "\"jitter_us\": {\"n\": %zu, \"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f, "
           "\"max\": %.3f, \"mean\": %.3f}}\n",
           periods, (long long)missed, total ? 100.0 * (double)missed / (double)total : 0.0,
           elapsed > 0 ? (double)periods / elapsed : 0.0, elapsed, period_us,
           slack_ok ? "1000" : "null", realtime ? "true" : "false", periods,
           percentile_us(lateness, periods, 50.0), percentile_us(lateness, periods, 99.0),
           percentile_us(lateness, periods, 99.9),
           periods ? (double)lateness[periods - 1] / 1000.0 : 0.0, mean);
    free(lateness);
    return (int)(sink & 0); /* always 0; keeps `sink` live */
}
