/*
 * relay_udp, Unix datagram sockets: a unix@PATH listener (the local syslog socket, /dev/log style)
 * binds an AF_UNIX SOCK_DGRAM socket here and receives on it with relay_udp.c's receiver, the same
 * recvmmsg batches as UDP. Here because node:dgram has no Unix datagram sockets, and node cannot
 * look users and groups up by name (getpwnam), which --unix-owner needs.
 *
 * The socket file at the path: bind() finds it taken (EADDRINUSE) when a file is there. A socket
 * file nobody is bound to (a connect() to it is refused: a relay that died left it) is removed and
 * the bind tried again; a socket something is bound to stays and the error is EADDRINUSE; anything
 * else (a regular file, a directory, a symlink) is never touched and the error is ENOTSOCK. The
 * check and the unlink are two steps: a process that binds the path between them loses its file,
 * as with rsyslog and systemd, which unlink the path without looking.
 *
 * Linux only, like the rest of the addon.
 */
#define _GNU_SOURCE
#include "relay_udp_common.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * What bind() found at the path (EADDRINUSE): 0 when it was a stale socket file, now removed (or
 * gone already); EADDRINUSE when a socket is bound there (a stream socket answers EPROTOTYPE);
 * ENOTSOCK when it is not a socket, left alone; another errno when it cannot be told (EACCES).
 */
static int unix_remove_stale(const struct sockaddr_un *addr, socklen_t len) {
  struct stat st;
  if (lstat(addr->sun_path, &st) != 0) return errno == ENOENT ? 0 : errno;
  if (!S_ISSOCK(st.st_mode)) return ENOTSOCK;
  int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return errno;
  int err = connect(probe, (const struct sockaddr *)addr, len) == 0 ? 0 : errno;
  close(probe);
  if (err == 0 || err == EPROTOTYPE) return EADDRINUSE;
  if (err != ECONNREFUSED) return err;
  if (unlink(addr->sun_path) != 0 && errno != ENOENT) return errno;
  return 0;
}

/* Binds fd at addr, replacing a stale socket file (unix_remove_stale); false with the error thrown (fd stays open). */
static bool unix_bind(napi_env env, int fd, const struct sockaddr_un *addr, socklen_t len) {
  if (bind(fd, (const struct sockaddr *)addr, len) == 0) return true;
  int err = errno;
  if (err == EADDRINUSE) {
    err = unix_remove_stale(addr, len);
    if (err == 0) err = bind(fd, (const struct sockaddr *)addr, len) == 0 ? 0 : errno;
    if (err == 0) return true;
  }
  throw_errno(env, "bind", err);
  return false;
}

/* The absolute path in v as a sockaddr_un (at most 107 bytes: sun_path holds the NUL too); false with a TypeError thrown. */
static bool get_unix_path(napi_env env, napi_value v, struct sockaddr_un *addr, socklen_t *len) {
  char path[sizeof addr->sun_path + 1]; /* one byte more than fits: a longer path reads as too long, not cut */
  size_t n = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string || napi_get_value_string_utf8(env, v, path, sizeof path, &n) != napi_ok) {
    throw_type(env, "path must be a string");
    return false;
  }
  if (n == 0 || path[0] != '/' || n > sizeof addr->sun_path - 1 || strlen(path) != n) {
    throw_type(env, "path must be an absolute path of at most 107 bytes, without NUL");
    return false;
  }
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, path, n + 1);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  return true;
}

/* unixOpen(path, recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch) -> receiver handle */
napi_value unix_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    throw_type(env, "unixOpen(path, recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch)");
    return NULL;
  }
  struct sockaddr_un addr;
  socklen_t addr_len;
  receive_args a;
  if (!get_unix_path(env, argv[0], &addr, &addr_len) || !receive_args_get(env, argv + 1, &a)) return NULL;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  if (a.rcvbuf > 0) socket_set_recv_buffer(fd, a.rcvbuf);
  if (!unix_bind(env, fd, &addr, addr_len)) {
    close(fd);
    return NULL;
  }
  return receiver_open(env, fd, &a);
}

/* ---------------------------------------------------------------- users and groups by name */

/* The one string argument of a lookup, into buf; false with a TypeError thrown. */
static bool get_name(napi_env env, napi_callback_info info, char *buf, size_t size) {
  size_t argc = 1, n = 0;
  napi_value argv[1];
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok ||
      t != napi_string || napi_get_value_string_utf8(env, argv[0], buf, size, &n) != napi_ok || n == 0 || n >= size - 1) {
    throw_type(env, "name must be a non-empty string of at most 255 bytes");
    return false;
  }
  return true;
}

/* The id found (a number), null when there is no such name, or NULL with the lookup's error thrown. */
static napi_value id_result(napi_env env, const char *syscall, int err, bool found, uint32_t id) {
  napi_value result;
  if (err != 0 && err != ENOENT && err != ESRCH && err != EBADF && err != EPERM) {
    throw_errno(env, syscall, err);
    return NULL;
  }
  if (!found) {
    NAPI_OR_NULL(env, napi_get_null(env, &result));
    return result;
  }
  NAPI_OR_NULL(env, napi_create_uint32(env, id, &result));
  return result;
}

/* Bytes of the lookups' string buffer: the first try, and the most (a group with many members needs more: ERANGE). */
#define LOOKUP_BUFFER_FIRST 16384
#define LOOKUP_BUFFER_MOST (4 * 1024 * 1024)

/* unixUserId(name) -> uid, or null when no such user (getpwnam_r: every NSS source, not only /etc/passwd). */
napi_value unix_user_id(napi_env env, napi_callback_info info) {
  char name[256];
  if (!get_name(env, info, name, sizeof name)) return NULL;
  struct passwd pw, *found = NULL;
  char *buf = NULL;
  int err = ERANGE;
  for (size_t size = LOOKUP_BUFFER_FIRST; err == ERANGE && size <= LOOKUP_BUFFER_MOST; size *= 4) {
    free(buf);
    buf = malloc(size);
    err = buf == NULL ? ENOMEM : getpwnam_r(name, &pw, buf, size, &found);
  }
  napi_value result = id_result(env, "getpwnam_r", err, found != NULL, found ? (uint32_t)found->pw_uid : 0);
  free(buf);
  return result;
}

/* unixGroupId(name) -> gid, or null when no such group. */
napi_value unix_group_id(napi_env env, napi_callback_info info) {
  char name[256];
  if (!get_name(env, info, name, sizeof name)) return NULL;
  struct group gr, *found = NULL;
  char *buf = NULL;
  int err = ERANGE;
  for (size_t size = LOOKUP_BUFFER_FIRST; err == ERANGE && size <= LOOKUP_BUFFER_MOST; size *= 4) {
    free(buf);
    buf = malloc(size);
    err = buf == NULL ? ENOMEM : getgrnam_r(name, &gr, buf, size, &found);
  }
  napi_value result = id_result(env, "getgrnam_r", err, found != NULL, found ? (uint32_t)found->gr_gid : 0);
  free(buf);
  return result;
}
