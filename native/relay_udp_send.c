/*
 * relay_udp, the bench's sender: a UDP socket connected to one destination, sending batches with
 * sendmmsg (src/bench/native-sender.ts). The relay itself never sends UDP; this file is only here so
 * that `relay bench` can offer more datagrams per second than node:dgram can (relay_udp.c has the
 * receiver and the module's exports, relay_udp_args.c the argument checks used here).
 *
 * Linux only (sendmmsg).
 */
#define _GNU_SOURCE
#include "relay_udp_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Datagrams per sendmmsg call (the kernel caps vlen at UIO_MAXIOV, 1024). */
#define SEND_CHUNK 256

/* Tells sender externals apart from receivers and from anything else: a constant, not state. */
static const napi_type_tag SENDER_TAG = {0x72656c61795f7564ULL, 0x705f73656e643031ULL};

typedef struct sender {
  int fd;
  bool hook_registered;
  napi_env env;
} sender;

static sender *get_sender(napi_env env, napi_value v) {
  bool ok = false;
  void *data = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &SENDER_TAG, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, &data) != napi_ok) {
    return NULL;
  }
  return data;
}

static void sender_env_cleanup(void *arg) {
  sender *s = arg;
  s->hook_registered = false;
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
}

static void sender_close(sender *s) {
  if (s->hook_registered) {
    napi_remove_env_cleanup_hook(s->env, sender_env_cleanup, s);
    s->hook_registered = false;
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
}

static void sender_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sender *s = data;
  sender_close(s);
  free(s);
}

/* udpSenderOpen(family, host, port) -> handle: a UDP socket connected to host:port (ephemeral source port). */
napi_value udp_sender_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    throw_type(env, "udpSenderOpen(family, host, port)");
    return NULL;
  }
  int family;
  int64_t port;
  if (!get_family(env, argv[0], &family)) return NULL;
  if (!get_int(env, argv[2], "port", 1, 65535, &port)) return NULL;
  sockaddr_any addr;
  socklen_t addr_len;
  if (!get_sockaddr(env, family, argv[1], (int)port, &addr, &addr_len)) return NULL;

  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  /* connect() binds a fresh ephemeral port: every sender has its own source port. */
  if (connect(fd, &addr.sa, addr_len) != 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "connect", err);
    return NULL;
  }
  sender *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    throw_errno(env, "udpSenderOpen", ENOMEM);
    return NULL;
  }
  s->fd = fd;
  s->env = env;
  napi_value handle;
  if (napi_create_external(env, s, sender_finalize, NULL, &handle) != napi_ok) {
    close(fd);
    free(s);
    napi_throw_error(env, "ERR_RELAY_UDP", "udpSenderOpen: cannot create the handle");
    return NULL;
  }
  /* From here the finalizer owns s. */
  if (napi_type_tag_object(env, handle, &SENDER_TAG) != napi_ok ||
      napi_add_env_cleanup_hook(env, sender_env_cleanup, s) != napi_ok) {
    sender_close(s);
    napi_throw_error(env, "ERR_RELAY_UDP", "udpSenderOpen: cannot set up the handle");
    return NULL;
  }
  s->hook_registered = true;
  return handle;
}

/*
 * udpSendBatch(handle, buffer, lengths, count) -> datagrams sent. Datagram i is lengths[i] bytes,
 * packed back to back in buffer. Fewer than count when the socket buffer is full (EAGAIN) or the
 * peer keeps refusing (ECONNREFUSED, retried once); other errors throw.
 */
napi_value udp_send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sender *s = argc >= 4 ? get_sender(env, argv[0]) : NULL;
  if (s == NULL) {
    throw_type(env, "udpSendBatch(handle, buffer, lengths, count): not a sender handle");
    return NULL;
  }
  if (s->fd < 0) {
    throw_errno(env, "sendmmsg", EBADF);
    return NULL;
  }
  uint8_t *buffer, *length_bytes;
  size_t buffer_len, lengths_len, off;
  napi_value ab;
  if (!get_bytes(env, argv[1], "buffer", false, &buffer, &buffer_len, &ab, &off)) return NULL;
  if (!get_bytes(env, argv[2], "lengths", true, &length_bytes, &lengths_len, &ab, &off)) return NULL;
  int64_t count;
  if (!get_int(env, argv[3], "count", 0, (int64_t)(lengths_len / 4), &count)) return NULL;
  const int32_t *lengths = (const int32_t *)length_bytes;

  struct mmsghdr msgs[SEND_CHUNK];
  struct iovec iov[SEND_CHUNK];
  size_t offset = 0;
  int64_t sent = 0;
  bool retried_refused = false;
  while (sent < count) {
    /* Lay out the next chunk from datagram `sent` on. */
    unsigned n = 0;
    size_t o = offset;
    for (; n < SEND_CHUNK && sent + n < count; n++) {
      int32_t len = lengths[sent + n];
      if (len < 0 || (size_t)len > buffer_len - o) {
        throw_range(env, "lengths[i] must be >= 0 and add up to at most buffer.byteLength");
        return NULL;
      }
      iov[n].iov_base = buffer + o;
      iov[n].iov_len = (size_t)len;
      memset(&msgs[n].msg_hdr, 0, sizeof msgs[n].msg_hdr);
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      o += (size_t)len;
    }
    int k = sendmmsg(s->fd, msgs, n, MSG_DONTWAIT);
    if (k < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break;
      if (err == ECONNREFUSED) {
        /* An ICMP port unreachable from an earlier datagram: the error is consumed, try once more. */
        if (retried_refused) break;
        retried_refused = true;
        continue;
      }
      throw_errno(env, "sendmmsg", err);
      return NULL;
    }
    for (int i = 0; i < k; i++) offset += (size_t)lengths[sent + i];
    sent += k;
    if (k == 0) break;
  }
  napi_value result;
  NAPI_OR_NULL(env, napi_create_int64(env, sent, &result));
  return result;
}

/* udpSenderClose(handle): idempotent. */
napi_value udp_sender_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sender *s = argc >= 1 ? get_sender(env, argv[0]) : NULL;
  if (s == NULL) {
    throw_type(env, "udpSenderClose(handle): not a sender handle");
    return NULL;
  }
  sender_close(s);
  return NULL;
}


int sender_fd(napi_env env, napi_value v) {
  sender *s = get_sender(env, v);
  return s == NULL ? -2 : s->fd;
}
