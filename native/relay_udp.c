/*
 * relay_udp: batched UDP receive (recvmmsg) for the relay's ingest thread, and the module's
 * exports. Same addon: the bench's batched sender (sendmmsg) in relay_udp_send.c, Unix datagram
 * sockets in relay_unix.c (bound there, received by this file's receiver), the error and argument
 * helpers all use in relay_udp_args.c; relay_udp_common.h declares what crosses files.
 *
 * A receiver is a non-blocking UDP socket watched by a uv_poll_t on the loop of the thread that
 * opened it (the main thread or a worker_thread): no extra thread and no busy polling. When the
 * socket is readable, datagrams are read straight into a caller-owned ArrayBuffer (one fixed
 * slot per datagram), their lengths, flags and senders into a caller-owned Int32Array, and the
 * JS callback onBatch(count) is called once per batch, never once per datagram.
 *
 * Context-aware (NAPI_MODULE_INIT), no global mutable state. Every open socket registers an
 * async cleanup hook, so a worker that is terminated closes its polls and sockets before its
 * loop goes away.
 *
 * Linux only (recvmmsg).
 */
#define _GNU_SOURCE
#include "relay_udp_common.h"

#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Int32 slots per datagram in meta: length, flags, family, port, addr0..addr3. TypeScript repeats
 * these (src/native/addon.ts); the module exports them as `layout` and the TypeScript side
 * refuses an addon whose values differ from its own.
 */
#define META_FIELDS 8
#define META_LENGTH 0
#define META_FLAGS 1
#define META_FAMILY 2
#define META_PORT 3
#define META_ADDR 4
#define FLAG_TRUNCATED 1

/* recvmmsg calls (each followed by one onBatch) per readable event, so one busy socket cannot starve the loop. */
#define MAX_BATCHES_PER_EVENT 16

/* Tells receiver externals apart from senders (relay_udp_send.c) and from anything else: a constant, not state. */
static const napi_type_tag RECEIVER_TAG = {0x72656c61795f7564ULL, 0x705f726563763031ULL};

enum { R_OPEN, R_CLOSING, R_CLOSED };

typedef struct receiver {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int state;
  /* The JS external was garbage collected: free once closed. */
  bool finalized;
  /* The poll was stopped after a fatal receive error; the socket waits for udpClose. */
  bool stopped;
  napi_ref on_batch;
  napi_ref batch_ab; /* the ArrayBuffer under the batch buffer */
  napi_ref meta_ab;  /* the ArrayBuffer under meta */
  napi_async_context async_context;
  napi_async_cleanup_hook_handle cleanup;
  /* Where the buffers were when opened; checked before every batch (a detached or shrunk buffer stops receiving). */
  uint8_t *batch;
  size_t batch_needed;  /* bytes of batch used: capacity * slot */
  int32_t *meta;
  size_t meta_offset;   /* byte offset of meta in its ArrayBuffer */
  size_t meta_needed;   /* bytes of meta used */
  void *batch_ab_data;
  void *meta_ab_data;
  size_t slot;
  unsigned capacity;
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  sockaddr_any addrs[MAX_BATCH];
} receiver;

/* ---------------------------------------------------------------- receiver */

static void receiver_closed(uv_handle_t *handle);

/* Releases everything JS-side; runs in the close callback (also during environment teardown). */
static void receiver_release_js(receiver *r) {
  napi_env env = r->env;
  napi_handle_scope scope = NULL;
  napi_open_handle_scope(env, &scope);
  if (r->on_batch) napi_delete_reference(env, r->on_batch);
  if (r->batch_ab) napi_delete_reference(env, r->batch_ab);
  if (r->meta_ab) napi_delete_reference(env, r->meta_ab);
  if (r->async_context) napi_async_destroy(env, r->async_context);
  r->on_batch = r->batch_ab = r->meta_ab = NULL;
  r->async_context = NULL;
  if (scope) napi_close_handle_scope(env, scope);
}

/*
 * Starts closing: the poll stops and the socket is closed right away (uv_close has already taken
 * the fd out of epoll, so the port is free when this returns); the memory goes in the close callback.
 */
static void receiver_begin_close(receiver *r) {
  if (r->state != R_OPEN) return;
  r->state = R_CLOSING;
  uv_poll_stop(&r->poll);
  uv_close((uv_handle_t *)&r->poll, receiver_closed);
  if (r->fd >= 0) {
    close(r->fd);
    r->fd = -1;
  }
}

static void receiver_closed(uv_handle_t *handle) {
  receiver *r = handle->data;
  receiver_release_js(r);
  r->state = R_CLOSED;
  napi_async_cleanup_hook_handle hook = r->cleanup;
  r->cleanup = NULL;
  bool free_now = r->finalized;
  if (free_now) free(r);
  /* Last: lets an environment that is being torn down go on. */
  if (hook) napi_remove_async_cleanup_hook(hook);
}

/* The environment (a worker, or the main thread at exit) is going away: close now. */
static void receiver_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  receiver *r = arg;
  (void)handle; /* same as r->cleanup: removed in receiver_closed */
  receiver_begin_close(r);
}

/* The JS handle was garbage collected. */
static void receiver_finalize(napi_env env, void *data, void *hint) {
  receiver *r = data;
  (void)env;
  (void)hint;
  r->finalized = true;
  if (r->state == R_CLOSED) {
    free(r);
    return;
  }
  receiver_begin_close(r); /* receiver_closed frees it */
}

/* The batch and meta buffers are still where they were and as large (not detached or shrunk). */
static bool receiver_buffers_ok(receiver *r) {
  napi_env env = r->env;
  napi_value ab;
  void *data;
  size_t length;
  if (napi_get_reference_value(env, r->batch_ab, &ab) != napi_ok || ab == NULL) return false;
  if (napi_get_arraybuffer_info(env, ab, &data, &length) != napi_ok) {
    /* A SharedArrayBuffer cannot be detached: accept it as is. */
    bool is_ab = false;
    napi_is_arraybuffer(env, ab, &is_ab);
    if (is_ab) return false;
  } else if (data != r->batch_ab_data || length < r->batch_needed + (size_t)(r->batch - (uint8_t *)data)) {
    return false;
  }
  if (napi_get_reference_value(env, r->meta_ab, &ab) != napi_ok || ab == NULL) return false;
  if (napi_get_arraybuffer_info(env, ab, &data, &length) != napi_ok) {
    bool is_ab = false;
    napi_is_arraybuffer(env, ab, &is_ab);
    if (is_ab) return false;
  } else if (data != r->meta_ab_data || length < r->meta_offset + r->meta_needed) {
    return false;
  }
  return true;
}

/*
 * Calls onBatch(value) (a count, or a negative errno for a receive error). An exception thrown by
 * the callback becomes an uncaught exception, as in any event callback. False: stop this round.
 */
static bool receiver_deliver(receiver *r, int value) {
  napi_env env = r->env;
  napi_value cb, global, arg;
  if (napi_get_reference_value(env, r->on_batch, &cb) != napi_ok || cb == NULL) return false;
  if (napi_get_global(env, &global) != napi_ok) return false;
  if (napi_create_int32(env, value, &arg) != napi_ok) return false;
  napi_status status = napi_make_callback(env, r->async_context, global, cb, 1, &arg, NULL);
  if (status == napi_ok) return true;
  if (status == napi_pending_exception) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) {
      /* Refused (returns an error) when the environment cannot run JS any more, e.g. a terminating worker. */
      napi_fatal_exception(env, exception);
    }
  }
  return false;
}

static void receiver_readable(uv_poll_t *handle, int status, int events) {
  receiver *r = handle->data;
  (void)events;
  if (r->state != R_OPEN) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;

  if (status < 0) {
    /* epoll reported an error on the fd: report it, the next recvmmsg will tell more. */
    receiver_deliver(r, status);
    goto done;
  }
  for (int round = 0; round < MAX_BATCHES_PER_EVENT && r->state == R_OPEN; round++) {
    if (!receiver_buffers_ok(r)) {
      uv_poll_stop(&r->poll);
      r->stopped = true;
      receiver_deliver(r, -EFAULT);
      break;
    }
    unsigned cap = r->capacity;
    for (unsigned i = 0; i < cap; i++) {
      r->msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_any);
      r->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(r->fd, r->msgs, cap, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      receiver_deliver(r, -err); /* once per readable event */
      break;
    }
    if (n == 0) break;
    int32_t *m = r->meta;
    for (int i = 0; i < n; i++, m += META_FIELDS) {
      unsigned len = r->msgs[i].msg_len;
      m[META_LENGTH] = (int32_t)len;
      m[META_FLAGS] = (len > r->slot || (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) ? FLAG_TRUNCATED : 0;
      const sockaddr_any *a = &r->addrs[i];
      if (a->sa.sa_family == AF_INET) {
        m[META_FAMILY] = 4;
        m[META_PORT] = ntohs(a->in4.sin_port);
        memcpy(&m[META_ADDR], &a->in4.sin_addr, 4);
        m[META_ADDR + 1] = m[META_ADDR + 2] = m[META_ADDR + 3] = 0;
      } else if (a->sa.sa_family == AF_INET6) {
        m[META_FAMILY] = 6;
        m[META_PORT] = ntohs(a->in6.sin6_port);
        memcpy(&m[META_ADDR], &a->in6.sin6_addr, 16);
      } else {
        m[META_FAMILY] = 0;
        m[META_PORT] = 0;
        m[META_ADDR] = m[META_ADDR + 1] = m[META_ADDR + 2] = m[META_ADDR + 3] = 0;
      }
    }
    if (!receiver_deliver(r, n)) break;
    /* Fewer than asked: the queue was empty. Level-triggered epoll calls again if more came since. */
    if ((unsigned)n < cap) break;
  }
done:
  napi_close_handle_scope(env, scope);
}

static receiver *get_receiver(napi_env env, napi_value v) {
  bool ok = false;
  void *data = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &RECEIVER_TAG, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, &data) != napi_ok) {
    return NULL;
  }
  return data;
}

/* ---------------------------------------------------------------- opening a receiver, one step per function */

/* Datagrams per batch: as many as both buffers hold, at most MAX_BATCH; false with a RangeError when not even one. */
static bool receive_args_capacity(napi_env env, receive_args *a, size_t batch_len, size_t meta_len) {
  size_t capacity = batch_len / a->slot;
  if (meta_len / (4 * META_FIELDS) < capacity) capacity = meta_len / (4 * META_FIELDS);
  if (capacity > MAX_BATCH) capacity = MAX_BATCH;
  if (capacity == 0) {
    throw_range(env, "batchBuffer must hold at least one maxDatagramBytes slot and meta at least META_FIELDS Int32s");
    return false;
  }
  a->capacity = (unsigned)capacity;
  return true;
}

/* Where the buffers under batch and meta start, as receiver_buffers_ok will compare them (a SharedArrayBuffer: from the view). */
static bool receive_args_buffer_bases(napi_env env, receive_args *a, size_t batch_offset) {
  size_t ignored;
  bool batch_is_ab = false, meta_is_ab = false;
  napi_is_arraybuffer(env, a->batch_ab, &batch_is_ab);
  napi_is_arraybuffer(env, a->meta_ab, &meta_is_ab);
  a->batch_ab_data = a->batch - batch_offset;
  a->meta_ab_data = (uint8_t *)a->meta - a->meta_offset;
  if (batch_is_ab) NAPI_OR_RETURN(env, napi_get_arraybuffer_info(env, a->batch_ab, &a->batch_ab_data, &ignored), false);
  if (meta_is_ab) NAPI_OR_RETURN(env, napi_get_arraybuffer_info(env, a->meta_ab, &a->meta_ab_data, &ignored), false);
  return true;
}

/* Reads argv[0..4] (recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch); false with a TypeError or RangeError thrown. */
bool receive_args_get(napi_env env, const napi_value *argv, receive_args *a) {
  int64_t rcvbuf, max_dgram;
  if (!get_int(env, argv[0], "recvBufferBytes", 0, INT32_MAX, &rcvbuf)) return false;
  if (!get_int(env, argv[3], "maxDatagramBytes", 1, 16 * 1024 * 1024, &max_dgram)) return false;
  a->rcvbuf = (int)rcvbuf;
  a->slot = (size_t)max_dgram;

  uint8_t *meta_bytes;
  size_t batch_len, meta_len, batch_offset;
  if (!get_bytes(env, argv[1], "batchBuffer", false, &a->batch, &batch_len, &a->batch_ab, &batch_offset)) return false;
  if (!get_bytes(env, argv[2], "meta", true, &meta_bytes, &meta_len, &a->meta_ab, &a->meta_offset)) return false;
  a->meta = (int32_t *)meta_bytes;
  napi_valuetype t;
  NAPI_OR_RETURN(env, napi_typeof(env, argv[4], &t), false);
  if (t != napi_function) {
    throw_type(env, "onBatch must be a function");
    return false;
  }
  a->on_batch = argv[4];
  return receive_args_capacity(env, a, batch_len, meta_len) && receive_args_buffer_bases(env, a, batch_offset);
}

/* A non-blocking UDP socket of the family (4 or 6); -1 with the error thrown. */
static int socket_create(napi_env env, int family) {
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(env, "socket", errno);
  return fd;
}

/* Asks for SO_RCVBUF = size; a refusal keeps what the kernel gives (the caller reads it back with udpRecvBufferSize). */
void socket_set_recv_buffer(int fd, int size) {
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); /* refused: keep the default */
  /* SO_RCVBUF is capped at net.core.rmem_max. With CAP_NET_ADMIN, SO_RCVBUFFORCE may pass that
   * cap (as rsyslog's imudp does); without it the call fails with EPERM and the capped size
   * stays. Either way the caller reads back what was granted (udpRecvBufferSize). */
  int granted = 0;
  socklen_t granted_len = sizeof granted;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &granted_len) == 0 && granted / 2 < size) {
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  }
}

/* Binds fd; false with the error thrown (fd stays open: the caller closes it). */
static bool socket_bind(napi_env env, int fd, const sockaddr_any *addr, socklen_t addr_len) {
  if (bind(fd, &addr->sa, addr_len) == 0) return true;
  throw_errno(env, "bind", errno);
  return false;
}

/* A receiver reading fd into a's buffers: one slot, iovec and address per datagram of a batch. NULL with ENOMEM thrown (fd stays open). */
static receiver *receiver_new(napi_env env, int fd, const receive_args *a) {
  receiver *r = calloc(1, sizeof *r);
  if (r == NULL) {
    throw_errno(env, "udpOpen", ENOMEM);
    return NULL;
  }
  r->env = env;
  r->fd = fd;
  r->state = R_OPEN;
  r->batch = a->batch;
  r->slot = a->slot;
  r->capacity = a->capacity;
  r->batch_needed = (size_t)a->capacity * r->slot;
  r->meta = a->meta;
  r->meta_offset = a->meta_offset;
  r->meta_needed = (size_t)a->capacity * META_FIELDS * 4;
  r->batch_ab_data = a->batch_ab_data;
  r->meta_ab_data = a->meta_ab_data;
  for (unsigned i = 0; i < a->capacity; i++) {
    r->iov[i].iov_base = a->batch + i * r->slot;
    r->iov[i].iov_len = r->slot;
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = &r->addrs[i];
    r->msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_any);
  }
  return r;
}

/*
 * Takes what the receiver keeps between calls: onBatch and both buffers (references, so they live
 * as long as it does), an async context for its callbacks, and its uv_poll on the loop. On failure
 * undoes it all, closes the fd, frees r and throws.
 */
static bool receiver_attach(napi_env env, receiver *r, const receive_args *a, uv_loop_t *loop) {
  napi_value name;
  bool ok = napi_create_reference(env, a->on_batch, 1, &r->on_batch) == napi_ok &&
            napi_create_reference(env, a->batch_ab, 1, &r->batch_ab) == napi_ok &&
            napi_create_reference(env, a->meta_ab, 1, &r->meta_ab) == napi_ok &&
            napi_create_string_utf8(env, "RelayUdpReceiver", NAPI_AUTO_LENGTH, &name) == napi_ok &&
            napi_async_init(env, NULL, name, &r->async_context) == napi_ok;
  int rc = ok ? uv_poll_init(loop, &r->poll, r->fd) : 0;
  if (!ok || rc != 0) {
    receiver_release_js(r);
    close(r->fd);
    free(r);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (rc != 0) throw_errno(env, "uv_poll_init", -rc);
    else if (!pending) napi_throw_error(env, "ERR_RELAY_UDP", "udpOpen: cannot create the handle");
    return false;
  }
  r->poll.data = r;
  return true;
}

/*
 * The JS handle of r: an external tagged RECEIVER_TAG whose finalizer, like the environment's
 * cleanup hook, closes r. From here on r is freed only by receiver_closed or receiver_finalize,
 * whichever comes last. NULL (r closing) with the error thrown.
 */
static napi_value receiver_handle(napi_env env, receiver *r) {
  napi_value handle;
  if (napi_create_external(env, r, receiver_finalize, NULL, &handle) != napi_ok) {
    r->finalized = true; /* no JS handle will ever point at r */
    receiver_begin_close(r);
    napi_throw_error(env, "ERR_RELAY_UDP", "udpOpen: cannot create the handle");
    return NULL;
  }
  if (napi_type_tag_object(env, handle, &RECEIVER_TAG) != napi_ok ||
      napi_add_async_cleanup_hook(env, receiver_env_cleanup, r, &r->cleanup) != napi_ok) {
    r->cleanup = NULL;
    receiver_begin_close(r);
    napi_throw_error(env, "ERR_RELAY_UDP", "udpOpen: cannot set up the handle");
    return NULL;
  }
  return handle;
}

/* Starts watching the socket for datagrams; false (r closing) with the error thrown. */
static bool receiver_start(napi_env env, receiver *r) {
  int rc = uv_poll_start(&r->poll, UV_READABLE, receiver_readable);
  if (rc == 0) return true;
  receiver_begin_close(r);
  throw_errno(env, "uv_poll_start", -rc);
  return false;
}

/* Starts receiving on the bound, non-blocking datagram socket fd into a's buffers: the receiver handle, or NULL with the error thrown (fd closed). */
napi_value receiver_open(napi_env env, int fd, const receive_args *a) {
  uv_loop_t *loop;
  receiver *r;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || (r = receiver_new(env, fd, a)) == NULL) {
    close(fd);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ERR_RELAY_UDP", "cannot get the event loop");
    return NULL;
  }
  if (!receiver_attach(env, r, a, loop)) return NULL; /* r and fd are gone */
  napi_value handle = receiver_handle(env, r);
  if (handle == NULL || !receiver_start(env, r)) return NULL;
  return handle;
}

/* udpOpen(family, host, port, recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch) -> handle */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) {
    throw_type(env, "udpOpen(family, host, port, recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch)");
    return NULL;
  }
  int family;
  int64_t port;
  sockaddr_any addr;
  socklen_t addr_len;
  receive_args a;
  if (!get_family(env, argv[0], &family) || !get_int(env, argv[2], "port", 0, 65535, &port) ||
      !get_sockaddr(env, family, argv[1], (int)port, &addr, &addr_len) || !receive_args_get(env, argv + 3, &a)) {
    return NULL;
  }
  int fd = socket_create(env, family);
  if (fd < 0) return NULL;
  if (a.rcvbuf > 0) socket_set_recv_buffer(fd, a.rcvbuf);
  if (!socket_bind(env, fd, &addr, addr_len)) {
    close(fd);
    return NULL;
  }
  return receiver_open(env, fd, &a);
}

/* ---------------------------------------------------------------- udpClose, udpAddress, udpRecvBufferSize */

/* udpClose(handle): stops receiving and closes the socket; idempotent. */
static napi_value udp_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  receiver *r = argc >= 1 ? get_receiver(env, argv[0]) : NULL;
  if (r == NULL) {
    throw_type(env, "udpClose(handle): not a receiver handle");
    return NULL;
  }
  receiver_begin_close(r);
  return NULL;
}

/* The fd of a receiver handle (-1 once closed), or -2 when v is not a receiver handle. */
int receiver_fd(napi_env env, napi_value v) {
  receiver *r = get_receiver(env, v);
  if (r == NULL) return -2;
  return r->state == R_OPEN ? r->fd : -1;
}

/*
 * udpPause(handle) / udpResume(handle): stop and restart watching the socket (--max-delay: ingest
 * lets datagrams gather in the kernel's queue for the budget instead of waking per arrival). Datagrams
 * that arrive while paused wait in the socket's receive buffer; level-triggered epoll reports them
 * as soon as the watch restarts. No-ops on a closing receiver or one stopped after a fatal error.
 */
static napi_value udp_pause_or_resume(napi_env env, napi_callback_info info, bool resume) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  receiver *r = argc >= 1 ? get_receiver(env, argv[0]) : NULL;
  if (r == NULL) {
    throw_type(env, resume ? "udpResume(handle): not a receiver handle" : "udpPause(handle): not a receiver handle");
    return NULL;
  }
  if (r->state != R_OPEN || r->stopped) return NULL;
  int rc = resume ? uv_poll_start(&r->poll, UV_READABLE, receiver_readable) : uv_poll_stop(&r->poll);
  if (rc != 0) throw_errno(env, resume ? "uv_poll_start" : "uv_poll_stop", -rc);
  return NULL;
}

static napi_value udp_pause(napi_env env, napi_callback_info info) {
  return udp_pause_or_resume(env, info, false);
}

static napi_value udp_resume(napi_env env, napi_callback_info info) {
  return udp_pause_or_resume(env, info, true);
}

/* Returns the fd of a receiver or sender handle, -1 when closed, -2 when not a handle. */
static int handle_fd(napi_env env, napi_value v) {
  int fd = receiver_fd(env, v);
  return fd != -2 ? fd : sender_fd(env, v);
}

/* udpAddress(handle) -> { family, address, port } of a receiver or sender (getsockname). */
static napi_value udp_address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd = argc >= 1 ? handle_fd(env, argv[0]) : -2;
  if (fd == -2) {
    throw_type(env, "udpAddress(handle): not a socket handle");
    return NULL;
  }
  if (fd < 0) {
    throw_errno(env, "getsockname", EBADF);
    return NULL;
  }
  sockaddr_any a;
  socklen_t len = sizeof a;
  if (getsockname(fd, &a.sa, &len) != 0) {
    throw_errno(env, "getsockname", errno);
    return NULL;
  }
  char text[INET6_ADDRSTRLEN];
  int family, port;
  if (a.sa.sa_family == AF_INET) {
    family = 4;
    port = ntohs(a.in4.sin_port);
    uv_inet_ntop(AF_INET, &a.in4.sin_addr, text, sizeof text);
  } else if (a.sa.sa_family != AF_INET6) {
    throw_errno(env, "getsockname", EAFNOSUPPORT); /* a Unix socket: its path is the caller's */
    return NULL;
  } else {
    family = 6;
    port = ntohs(a.in6.sin6_port);
    uv_inet_ntop(AF_INET6, &a.in6.sin6_addr, text, sizeof text);
  }
  napi_value result, v;
  NAPI_OR_NULL(env, napi_create_object(env, &result));
  NAPI_OR_NULL(env, napi_create_int32(env, family, &v));
  NAPI_OR_NULL(env, napi_set_named_property(env, result, "family", v));
  NAPI_OR_NULL(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v));
  NAPI_OR_NULL(env, napi_set_named_property(env, result, "address", v));
  NAPI_OR_NULL(env, napi_create_int32(env, port, &v));
  NAPI_OR_NULL(env, napi_set_named_property(env, result, "port", v));
  return result;
}

/* udpRecvBufferSize(handle) -> SO_RCVBUF as the kernel reports it (Linux: twice what it grants). */
static napi_value udp_recv_buffer_size(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd = argc >= 1 ? handle_fd(env, argv[0]) : -2;
  if (fd == -2) {
    throw_type(env, "udpRecvBufferSize(handle): not a socket handle");
    return NULL;
  }
  if (fd < 0) {
    throw_errno(env, "getsockopt", EBADF);
    return NULL;
  }
  int size = 0;
  socklen_t len = sizeof size;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len) != 0) {
    throw_errno(env, "getsockopt", errno);
    return NULL;
  }
  napi_value result;
  NAPI_OR_NULL(env, napi_create_int32(env, size, &result));
  return result;
}


/* The meta layout by name, exported as `layout`: the TypeScript side checks each of its copies against it on load. */
static const struct {
  const char *name;
  int32_t value;
} LAYOUT[] = {
    {"META_FIELDS", META_FIELDS}, {"META_LENGTH", META_LENGTH}, {"META_FLAGS", META_FLAGS}, {"META_FAMILY", META_FAMILY},
    {"META_PORT", META_PORT}, {"META_ADDR", META_ADDR}, {"FLAG_TRUNCATED", FLAG_TRUNCATED},
};

/* { META_FIELDS: 8, META_LENGTH: 0, ... }, or NULL when a napi call fails. */
static napi_value layout_object(napi_env env) {
  napi_value layout, value;
  if (napi_create_object(env, &layout) != napi_ok) return NULL;
  for (size_t i = 0; i < sizeof LAYOUT / sizeof LAYOUT[0]; i++) {
    if (napi_create_int32(env, LAYOUT[i].value, &value) != napi_ok ||
        napi_set_named_property(env, layout, LAYOUT[i].name, value) != napi_ok) {
      return NULL;
    }
  }
  return layout;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value meta_fields, max_batch, max_batches;
  napi_value layout = layout_object(env);
  if (layout == NULL || napi_object_freeze(env, layout) != napi_ok ||
      napi_create_int32(env, META_FIELDS, &meta_fields) != napi_ok ||
      napi_create_int32(env, MAX_BATCH, &max_batch) != napi_ok ||
      napi_create_int32(env, MAX_BATCHES_PER_EVENT, &max_batches) != napi_ok) {
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"udpOpen", NULL, udp_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpClose", NULL, udp_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpPause", NULL, udp_pause, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpResume", NULL, udp_resume, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpAddress", NULL, udp_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpRecvBufferSize", NULL, udp_recv_buffer_size, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixOpen", NULL, unix_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixUserId", NULL, unix_user_id, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixGroupId", NULL, unix_group_id, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSenderOpen", NULL, udp_sender_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSendBatch", NULL, udp_send_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSenderClose", NULL, udp_sender_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reclaimerStart", NULL, reclaimer_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reclaimerJoin", NULL, reclaimer_join, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reclaimerThreadId", NULL, reclaimer_thread_id, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reclaimerComputeHead", NULL, reclaimer_compute_head, NULL, NULL, NULL, napi_enumerable, NULL},
      {"META_FIELDS", NULL, NULL, NULL, NULL, meta_fields, napi_enumerable, NULL},
      {"MAX_BATCH", NULL, NULL, NULL, NULL, max_batch, napi_enumerable, NULL},
      {"MAX_BATCHES_PER_EVENT", NULL, NULL, NULL, NULL, max_batches, napi_enumerable, NULL},
      {"layout", NULL, NULL, NULL, NULL, layout, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok || !reuseport_exports(env, exports) ||
      !notify_exports(env, exports)) {
    return NULL;
  }
  return exports;
}
