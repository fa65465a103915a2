/*
 * relay_udp, systemd's side: the sd_notify datagram and the sockets socket activation passes.
 * Node cannot send to a Unix datagram socket, look at a bare file descriptor (getsockname, SO_TYPE)
 * or duplicate one, so these few calls are here; src/service/ holds the protocol and the policy.
 *
 * - notifySend(socket, message): one datagram to $NOTIFY_SOCKET, an absolute path or an abstract
 *   name written with a leading '@' (as sd_notify(3) reads it). A new socket per message, as
 *   libsystemd does; MSG_DONTWAIT, so a manager that does not read never blocks the main thread.
 * - socketInfo(fd): what a passed socket is: its type, family, bound address (or path) and, for a
 *   stream socket, whether it listens. Inspects only.
 * - fdDuplicate(fd): a close-on-exec duplicate. Node closes the fd of a server it adopted when the
 *   server closes; the relay hands it a duplicate so the socket systemd passed stays open in this
 *   process, and a reload that removed its listener and adds it again adopts it again.
 * - udpAdopt(fd, ...): receives on a duplicate of an existing bound datagram socket (UDP or Unix)
 *   with relay_udp.c's receiver, as udpOpen and unixOpen do on the sockets they bind; its receive
 *   buffer is raised towards recvBufferBytes, never lowered.
 *
 * Linux only, like the rest of the addon.
 */
#define _GNU_SOURCE
#include "relay_udp_common.h"

#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The fd argument v: an integer from 0 to INT32_MAX; false with a TypeError or RangeError thrown. */
static bool get_fd(napi_env env, napi_value v, int *fd) {
  int64_t n;
  if (!get_int(env, v, "fd", 0, INT32_MAX, &n)) return false;
  *fd = (int)n;
  return true;
}

/* $NOTIFY_SOCKET as a sockaddr_un: '/path' or '@abstract'; false with a TypeError thrown. */
static bool get_notify_address(napi_env env, napi_value v, struct sockaddr_un *addr, socklen_t *len) {
  char name[sizeof addr->sun_path + 1]; /* one more than fits: a longer name reads as too long, not cut */
  size_t n = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string || napi_get_value_string_utf8(env, v, name, sizeof name, &n) != napi_ok) {
    throw_type(env, "socket must be a string");
    return false;
  }
  if (n < 2 || (name[0] != '/' && name[0] != '@') || n > sizeof addr->sun_path - 1 || strlen(name) != n) {
    throw_type(env, "socket must be an absolute path or an @abstract name of at most 107 bytes, without NUL");
    return false;
  }
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, name, n);
  if (name[0] == '@') {
    addr->sun_path[0] = '\0'; /* abstract: no terminating NUL, the length says where it ends */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  } else {
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  }
  return true;
}

/* notifySend(socket, message): one datagram; throws the errno of socket() or sendto() (EAGAIN: its queue is full). */
static napi_value notify_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct sockaddr_un addr;
  socklen_t addr_len;
  if (argc < 2 || !get_notify_address(env, argv[0], &addr, &addr_len)) {
    if (argc < 2) throw_type(env, "notifySend(socket, message)");
    return NULL;
  }
  char message[4096];
  size_t length = 0;
  napi_valuetype t;
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, argv[1], message, sizeof message, &length) != napi_ok) {
    throw_type(env, "message must be a string");
    return NULL;
  }
  if (length >= sizeof message - 1) {
    throw_range(env, "message must be under 4095 bytes");
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  ssize_t sent;
  do {
    sent = sendto(fd, message, length, MSG_NOSIGNAL | MSG_DONTWAIT, (const struct sockaddr *)&addr, addr_len);
  } while (sent < 0 && errno == EINTR);
  int err = sent < 0 ? errno : 0;
  close(fd);
  if (err != 0) throw_errno(env, "sendto", err);
  return NULL;
}

/* Sets result[key] = a string; false when a napi call failed. */
static bool set_string(napi_env env, napi_value result, const char *key, const char *value, size_t length) {
  napi_value v;
  return napi_create_string_utf8(env, value, length, &v) == napi_ok && napi_set_named_property(env, result, key, v) == napi_ok;
}

static bool set_int(napi_env env, napi_value result, const char *key, int32_t value) {
  napi_value v;
  return napi_create_int32(env, value, &v) == napi_ok && napi_set_named_property(env, result, key, v) == napi_ok;
}

/* The socket's bound address into result: address and port (IP), or path ('@name' when abstract, '' when unnamed). */
static bool set_bound_address(napi_env env, napi_value result, const struct sockaddr_storage *ss, socklen_t len) {
  char text[INET6_ADDRSTRLEN];
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
    uv_inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
    return set_string(env, result, "family", "ipv4", NAPI_AUTO_LENGTH) && set_string(env, result, "address", text, NAPI_AUTO_LENGTH) &&
           set_int(env, result, "port", ntohs(in4->sin_port));
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    uv_inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return set_string(env, result, "family", "ipv6", NAPI_AUTO_LENGTH) && set_string(env, result, "address", text, NAPI_AUTO_LENGTH) &&
           set_int(env, result, "port", ntohs(in6->sin6_port));
  }
  if (ss->ss_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
    size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    char path[sizeof un->sun_path + 1];
    if (n > 0 && un->sun_path[0] == '\0') {
      path[0] = '@';
      memcpy(path + 1, un->sun_path + 1, n - 1);
      path[n] = '\0';
    } else {
      memcpy(path, un->sun_path, n);
      path[n] = '\0';
      n = strnlen(path, n);
    }
    return set_string(env, result, "family", "unix", NAPI_AUTO_LENGTH) && set_string(env, result, "path", path, n);
  }
  return set_string(env, result, "family", "other", NAPI_AUTO_LENGTH);
}

/* socketInfo(fd) -> { type, family, address?, port?, path?, listening }; throws ENOTSOCK for an fd that is not a socket. */
static napi_value socket_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int fd;
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_fd(env, argv[0], &fd)) {
    if (argc < 1) throw_type(env, "socketInfo(fd)");
    return NULL;
  }
  int type = 0, listening = 0;
  socklen_t opt_len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &opt_len) != 0) {
    throw_errno(env, "getsockopt", errno);
    return NULL;
  }
  opt_len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &opt_len) != 0) listening = 0;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    throw_errno(env, "getsockname", errno);
    return NULL;
  }
  const char *type_name = type == SOCK_DGRAM ? "dgram" : type == SOCK_STREAM ? "stream" : type == SOCK_SEQPACKET ? "seqpacket" : "other";
  napi_value flag;
  NAPI_OR_NULL(env, napi_create_object(env, &result));
  NAPI_OR_NULL(env, napi_get_boolean(env, listening != 0, &flag));
  if (!set_string(env, result, "type", type_name, NAPI_AUTO_LENGTH) || !set_bound_address(env, result, &ss, len) ||
      napi_set_named_property(env, result, "listening", flag) != napi_ok) {
    napi_throw_error(env, "ERR_RELAY_UDP", "socketInfo: cannot build the result");
    return NULL;
  }
  return result;
}

/* A close-on-exec duplicate of fd, or -1 with the error thrown. */
static int duplicate(napi_env env, int fd) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw_errno(env, "fcntl", errno);
  return copy;
}

/* fdDuplicate(fd) -> a close-on-exec duplicate (the caller owns it). */
static napi_value fd_duplicate(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int fd;
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_fd(env, argv[0], &fd)) {
    if (argc < 1) throw_type(env, "fdDuplicate(fd)");
    return NULL;
  }
  int copy = duplicate(env, fd);
  if (copy < 0) return NULL;
  NAPI_OR_NULL(env, napi_create_int32(env, copy, &result));
  return result;
}

/*
 * Raises a passed socket's SO_RCVBUF towards `size`, never lowers it: systemd (ReceiveBuffer=) may
 * have given it more than net.core.rmem_max lets this process ask for, and a plain SO_RCVBUF would
 * cut it down to that cap.
 */
static void raise_recv_buffer(int fd, int size) {
  int current = 0;
  socklen_t len = sizeof current;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &current, &len) != 0 || current / 2 >= size) return; /* Linux reports twice what it grants */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) == 0) return;                 /* CAP_NET_ADMIN */
  long most = 0;
  FILE *f = fopen("/proc/sys/net/core/rmem_max", "re");
  if (f != NULL) {
    if (fscanf(f, "%ld", &most) != 1) most = 0;
    fclose(f);
  }
  int asked = most > 0 && most < size ? (int)most : size;
  if (asked > current / 2) (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &asked, sizeof asked);
}

/* udpAdopt(fd, recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch) -> receiver handle, on a duplicate of fd. */
static napi_value udp_adopt(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    throw_type(env, "udpAdopt(fd, recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch)");
    return NULL;
  }
  int fd, type = 0;
  receive_args a;
  if (!get_fd(env, argv[0], &fd) || !receive_args_get(env, argv + 1, &a)) return NULL;
  socklen_t type_len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0) {
    throw_errno(env, "getsockopt", errno);
    return NULL;
  }
  if (type != SOCK_DGRAM) {
    throw_errno(env, "udpAdopt", ESOCKTNOSUPPORT);
    return NULL;
  }
  /* No fcntl here: the receiver reads with MSG_DONTWAIT, and uv_poll_init makes the socket non-blocking anyway. */
  int copy = duplicate(env, fd);
  if (copy < 0) return NULL;
  if (a.rcvbuf > 0) raise_recv_buffer(copy, a.rcvbuf);
  return receiver_open(env, copy, &a);
}

/* Adds this file's functions to the module's exports; false when a napi call failed. */
bool notify_exports(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"notifySend", NULL, notify_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketInfo", NULL, socket_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fdDuplicate", NULL, fd_duplicate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpAdopt", NULL, udp_adopt, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
