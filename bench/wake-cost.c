/*
 * The C twin of bench/wake-cost.mjs: what one wake of an idle thread costs here when the thread
 * is C waiting on a futex (HAProxy's and the floor's kind of wake). A pacing thread bumps a word
 * and FUTEX_WAKEs RATE times a second; the woken thread waits on it and does nothing else.
 *
 *   cc -O2 -o /tmp/wake-cost bench/wake-cost.c -lpthread && /tmp/wake-cost [RATE=2000] [SECONDS=5]
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int word, wakes, rate = 2000;
static pid_t tids[2];

static void *woken(void *unused) {
  tids[0] = (pid_t)syscall(SYS_gettid);
  for (int seen = 0;;) {
    syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
    seen = __atomic_load_n(&word, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&wakes, 1, __ATOMIC_SEQ_CST);
  }
  return unused;
}

static void *pacer(void *unused) {
  tids[1] = (pid_t)syscall(SYS_gettid);
  struct timespec period = {0, 1000000000L / rate};
  for (;;) {
    nanosleep(&period, NULL);
    __atomic_add_fetch(&word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  }
  return unused;
}

/* utime + stime of thread `tid`, in clock ticks (/proc stat fields 14 and 15). */
static long cpu_ticks(pid_t tid) {
  char path[64], text[1024] = {0};
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  FILE *f = fopen(path, "r");
  if (f == NULL || fread(text, 1, sizeof text - 1, f) == 0) exit(1);
  fclose(f);
  char *field = strrchr(text, ')') + 2; /* field 3 */
  for (int i = 3; i < 14; i++) field = strchr(field, ' ') + 1;
  long user, system;
  sscanf(field, "%ld %ld", &user, &system);
  return user + system;
}

int main(int argc, char **argv) {
  if (argc > 1) rate = atoi(argv[1]);
  int seconds = argc > 2 ? atoi(argv[2]) : 5;
  pthread_t a, b;
  pthread_create(&a, NULL, woken, NULL);
  pthread_create(&b, NULL, pacer, NULL);
  sleep(1);
  long ticks = sysconf(_SC_CLK_TCK), w0 = cpu_ticks(tids[0]), p0 = cpu_ticks(tids[1]);
  int k0 = __atomic_load_n(&wakes, __ATOMIC_SEQ_CST);
  sleep((unsigned)seconds);
  int k = __atomic_load_n(&wakes, __ATOMIC_SEQ_CST) - k0;
  double per = 1e6 / (double)ticks / k;
  printf("%d wakes in %d s: woken thread %.1f µs CPU per wake, notifying thread %.1f µs per notify (its own timed sleep included)\n", k,
         seconds, (double)(cpu_ticks(tids[0]) - w0) * per, (double)(cpu_ticks(tids[1]) - p0) * per);
  return 0;
}
