/*
 * The background thread as a native thread: the same loop as src/background/reclaimer.ts, on the
 * ring's control words, without a JavaScript isolate (an empty worker isolate costs ~8 MB of RSS;
 * this thread costs its stack). src/background/native-reclaimer.ts starts, stops and documents it.
 *
 * The control words are the ring's Int32Array (src/ring/layout.ts is the table); the indices come
 * from JavaScript, so layout.ts stays their one definition. Loads and stores are sequentially
 * consistent (__ATOMIC_SEQ_CST), as JavaScript's Atomics are, on the same memory.
 *
 * One difference from the JavaScript loop: a waker's Atomics.notify() cannot wake a native thread
 * (V8 keeps its own wait lists), so ingest's wake-ups are not seen here: the thread publishes HEAD
 * once per interval, and ingest, which never waits for a wake (src/ring/ring.ts reserve()),
 * computes the same bound itself whenever the HEAD it has leaves it short of space. So the thread
 * wakes once per interval at rest, as the worker does. Stopping does not wait for the interval:
 * reclaimerJoin() signals the thread's condition variable after the caller set STOP.
 */
#define _GNU_SOURCE
#include "relay_udp_common.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
/* The ring has at most this many destination slots (src/config/config.ts DESTINATION_SLOTS is 512). */
#define MAX_SLOTS 1024

#define LOAD(r, i) __atomic_load_n(&(r)->control[(i)], __ATOMIC_SEQ_CST)
#define STORE(r, i, v) __atomic_store_n(&(r)->control[(i)], (v), __ATOMIC_SEQ_CST)

/* Indices into the control words, named as in layout.ts. */
typedef struct {
  int64_t head, tail, released, slot_generation, slot_free, destination_slots, bg_sleeping, stop;
  int64_t beat; /* BACKGROUND_BEAT, bumped once per round (src/service/heartbeat.ts); -1 when not given */
} control_indices;

typedef struct {
  int32_t *control;
  size_t words;
  control_indices at;
  int64_t interval_ms;
  napi_ref keep; /* the Int32Array: its memory outlives the thread */
  pthread_t thread;
  sem_t started;
  pid_t tid;
  bool running; /* started and not joined */
  pthread_mutex_t lock;
  pthread_cond_t stopping_changed; /* CLOCK_MONOTONIC */
  bool stopping;                   /* under lock: reclaimerJoin() was called */
} reclaimer;

/*
 * The lowest position any destination still needs: positions.ts computeHead. Every RELEASED of a
 * taken slot is loaded before TAIL, between two loads of SLOT_GENERATION (read again if it moved).
 */
static uint32_t compute_head(reclaimer *r) {
  uint32_t released[MAX_SLOTS];
  for (;;) {
    int32_t generation = LOAD(r, r->at.slot_generation);
    int64_t n = 0;
    for (int64_t d = 0; d < r->at.destination_slots; d++) {
      if (LOAD(r, r->at.slot_free + d) != 0) continue;
      released[n++] = (uint32_t)LOAD(r, r->at.released + d);
    }
    uint32_t tail = (uint32_t)LOAD(r, r->at.tail);
    if (LOAD(r, r->at.slot_generation) != generation) continue;
    uint32_t used = 0;
    for (int64_t i = 0; i < n; i++) {
      uint32_t distance = tail - released[i];
      if (distance > used) used = distance;
    }
    return tail - used;
  }
}

/* Waits `ms` or until reclaimerJoin() says stop. */
static void sleep_interval(reclaimer *r, int64_t ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&r->lock);
  while (!r->stopping && pthread_cond_timedwait(&r->stopping_changed, &r->lock, &until) == 0) {
  }
  pthread_mutex_unlock(&r->lock);
}

/* reclaimer.ts runReclaimer: publish HEAD, announce sleep, sleep for the interval (or until stopped). */
static void *run(void *arg) {
  reclaimer *r = arg;
  pthread_setname_np(pthread_self(), "relay-reclaim");
  r->tid = (pid_t)syscall(SYS_gettid);
  sem_post(&r->started);
  while (LOAD(r, r->at.stop) == 0) {
    /* The heartbeat the main thread's watchdog reads: this loop went round. */
    if (r->at.beat >= 0) __atomic_add_fetch(&r->control[r->at.beat], 1, __ATOMIC_SEQ_CST);
    STORE(r, r->at.head, (int32_t)compute_head(r));
    STORE(r, r->at.bg_sleeping, 1);
    sleep_interval(r, r->interval_ms);
    STORE(r, r->at.bg_sleeping, 0);
  }
  return NULL;
}

/* Reads the control Int32Array and the named indices; false with an exception thrown. */
static bool get_control(napi_env env, napi_value array, napi_value names, reclaimer *r) {
  uint8_t *data;
  size_t length, offset;
  napi_value ab;
  if (!get_bytes(env, array, "control", true, &data, &length, &ab, &offset)) return false;
  r->control = (int32_t *)data;
  r->words = length / 4;
  static const char *NAMES[] = {"HEAD", "TAIL", "RELEASED", "SLOT_GENERATION", "slotFree", "destinationSlots", "BG_SLEEPING", "STOP"};
  int64_t *fields[] = {&r->at.head,      &r->at.tail,     &r->at.released, &r->at.slot_generation, &r->at.slot_free,
                       &r->at.destination_slots, &r->at.bg_sleeping, &r->at.stop};
  for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
    napi_value v;
    NAPI_OR_RETURN(env, napi_get_named_property(env, names, NAMES[i], &v), false);
    if (!get_int(env, v, NAMES[i], 0, (int64_t)r->words, fields[i])) return false;
  }
  /* Optional: a caller that wants no heartbeat (reclaimerComputeHead's tests) leaves it out. */
  bool has_beat = false;
  r->at.beat = -1;
  NAPI_OR_RETURN(env, napi_has_named_property(env, names, "BEAT", &has_beat), false);
  if (has_beat) {
    napi_value v;
    NAPI_OR_RETURN(env, napi_get_named_property(env, names, "BEAT", &v), false);
    if (!get_int(env, v, "BEAT", 0, (int64_t)r->words - 1, &r->at.beat)) return false;
  }
  if (r->at.destination_slots > MAX_SLOTS || r->at.slot_free + r->at.destination_slots > (int64_t)r->words ||
      r->at.released + r->at.destination_slots > (int64_t)r->words) {
    throw_range(env, "destinationSlots: the slots do not fit the control words");
    return false;
  }
  return true;
}

static void join(napi_env env, reclaimer *r) {
  if (!r->running) return;
  r->running = false;
  pthread_mutex_lock(&r->lock);
  r->stopping = true;
  pthread_cond_signal(&r->stopping_changed);
  pthread_mutex_unlock(&r->lock);
  pthread_join(r->thread, NULL);
  sem_destroy(&r->started);
  pthread_cond_destroy(&r->stopping_changed);
  pthread_mutex_destroy(&r->lock);
  napi_delete_reference(env, r->keep);
}

/* A handle collected while its thread runs: stop the thread first (the memory it reads goes with the handle). */
static void finalize(napi_env env, void *data, void *hint) {
  reclaimer *r = data;
  if (r->running) STORE(r, r->at.stop, 1);
  join(env, r);
  free(r);
}

/* reclaimerStart(control, indices, intervalMs) -> handle; the thread runs until STOP is set. */
napi_value reclaimer_start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], handle;
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  reclaimer *r = calloc(1, sizeof *r);
  if (r == NULL) {
    throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  if (!get_control(env, argv[0], argv[1], r) || !get_int(env, argv[2], "intervalMs", 1, 3600000, &r->interval_ms)) {
    free(r);
    return NULL;
  }
  if (napi_create_reference(env, argv[0], 1, &r->keep) != napi_ok || sem_init(&r->started, 0, 0) != 0) {
    free(r);
    throw_errno(env, "sem_init", errno);
    return NULL;
  }
  pthread_condattr_t monotonic;
  pthread_condattr_init(&monotonic);
  pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
  pthread_cond_init(&r->stopping_changed, &monotonic);
  pthread_condattr_destroy(&monotonic);
  pthread_mutex_init(&r->lock, NULL);
  int err = pthread_create(&r->thread, NULL, run, r);
  if (err != 0) {
    napi_delete_reference(env, r->keep);
    sem_destroy(&r->started);
    pthread_cond_destroy(&r->stopping_changed);
    pthread_mutex_destroy(&r->lock);
    free(r);
    throw_errno(env, "pthread_create", err);
    return NULL;
  }
  while (sem_wait(&r->started) != 0 && errno == EINTR) {
  }
  r->running = true;
  if (napi_create_external(env, r, finalize, NULL, &handle) != napi_ok) return NULL;
  return handle;
}

static reclaimer *get_handle(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  void *data;
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_external) {
    throw_type(env, "handle must be a reclaimer handle");
    return NULL;
  }
  NAPI_OR_NULL(env, napi_get_value_external(env, argv[0], &data));
  return data;
}

/* reclaimerJoin(handle): waits for the thread to leave its loop (the caller set STOP). */
napi_value reclaimer_join(napi_env env, napi_callback_info info) {
  reclaimer *r = get_handle(env, info);
  if (r != NULL) join(env, r);
  return NULL;
}

/* reclaimerThreadId(handle) -> the thread's kernel id (for the per-thread CPU metrics). */
napi_value reclaimer_thread_id(napi_env env, napi_callback_info info) {
  reclaimer *r = get_handle(env, info);
  napi_value tid;
  if (r == NULL) return NULL;
  NAPI_OR_NULL(env, napi_create_int32(env, r->tid, &tid));
  return tid;
}

/* reclaimerComputeHead(control, indices) -> the HEAD the thread would publish now (for tests). */
napi_value reclaimer_compute_head(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], head;
  reclaimer r = {0};
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_control(env, argv[0], argv[1], &r)) return NULL;
  NAPI_OR_NULL(env, napi_create_uint32(env, compute_head(&r), &head));
  return head;
}
