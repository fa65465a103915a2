/*
 * relay_udp, shared ports (--reuse-port): listening sockets bound with SO_REUSEPORT, so several
 * relays receive on one port, and a new relay can start on it before the old one stops (a rolling
 * restart). The kernel gives each datagram or connection to one socket of the port's group by a
 * hash of its addresses and ports, so one sender stays on one relay. Here because Node 20's
 * node:dgram and net cannot set SO_REUSEPORT (their reusePort options came in Node 22.12).
 *
 * udpOpenReusePort: udpOpen with SO_REUSEPORT set before bind, received by relay_udp.c's receiver.
 * tcpListenReusePort: a listening TCP socket with SO_REUSEPORT, whose fd node's net.Server adopts
 *   with listen({ fd }) (node's own TCP listeners set SO_REUSEADDR, so this one does too).
 * udpLeavePortGroup: at a graceful stop, connects a receiver's socket to its own address. Linux
 *   then gives the port's datagrams to the other sockets of the group only (its reuseport hash
 *   skips connected sockets, and a connected UDP socket takes only datagrams from its peer, here
 *   nobody), while the relay reads what is already queued: nothing sent to the port is lost at
 *   the close, where closing at once would drop what the kernel still queued for it.
 *
 * Sharing a port takes every socket on it setting SO_REUSEPORT, all of one effective user: a
 * socket without it, or another user's, makes bind fail with EADDRINUSE. Linux only.
 */
#define _GNU_SOURCE
#include "relay_udp_common.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

/* The arguments family, host and port of both open functions: a sockaddr, or false with the error thrown. */
static bool get_bind_address(napi_env env, const napi_value *argv, int *family, sockaddr_any *addr, socklen_t *len) {
  int64_t port;
  return get_family(env, argv[0], family) && get_int(env, argv[2], "port", 0, 65535, &port) &&
         get_sockaddr(env, *family, argv[1], (int)port, addr, len);
}

/* A non-blocking socket of `type` with SO_REUSEPORT (and SO_REUSEADDR for TCP), bound at addr; -1 with the error thrown. */
static int reuseport_bind(napi_env env, int family, int type, const sockaddr_any *addr, socklen_t len) {
  int fd = socket(family == 4 ? AF_INET : AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return -1;
  }
  int on = 1;
  if ((type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    throw_errno(env, "setsockopt", errno);
    close(fd);
    return -1;
  }
  if (bind(fd, &addr->sa, len) != 0) {
    throw_errno(env, "bind", errno);
    close(fd);
    return -1;
  }
  return fd;
}

/* udpOpenReusePort(family, host, port, recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch) -> receiver handle */
static napi_value udp_open_reuseport(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) {
    throw_type(env, "udpOpenReusePort(family, host, port, recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch)");
    return NULL;
  }
  int family;
  sockaddr_any addr;
  socklen_t len;
  receive_args a;
  if (!get_bind_address(env, argv, &family, &addr, &len) || !receive_args_get(env, argv + 3, &a)) return NULL;
  int fd = reuseport_bind(env, family, SOCK_DGRAM, &addr, len);
  if (fd < 0) return NULL;
  if (a.rcvbuf > 0) socket_set_recv_buffer(fd, a.rcvbuf);
  return receiver_open(env, fd, &a);
}

/* tcpListenReusePort(family, host, port, backlog) -> fd of a listening socket, the caller's to close (net.Server does). */
static napi_value tcp_listen_reuseport(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    throw_type(env, "tcpListenReusePort(family, host, port, backlog)");
    return NULL;
  }
  int family;
  int64_t backlog;
  sockaddr_any addr;
  socklen_t len;
  if (!get_bind_address(env, argv, &family, &addr, &len) || !get_int(env, argv[3], "backlog", 1, 65535, &backlog)) return NULL;
  int fd = reuseport_bind(env, family, SOCK_STREAM, &addr, len);
  if (fd < 0) return NULL;
  if (listen(fd, (int)backlog) != 0) {
    throw_errno(env, "listen", errno);
    close(fd);
    return NULL;
  }
  napi_value result;
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    napi_throw_error(env, "ERR_RELAY_UDP", "tcpListenReusePort: cannot return the fd");
    return NULL;
  }
  return result;
}

/* udpLeavePortGroup(handle): the receiver gets no new datagrams from others; what is queued stays readable. */
static napi_value udp_leave_port_group(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OR_NULL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd = argc >= 1 ? receiver_fd(env, argv[0]) : -2;
  if (fd == -2) {
    throw_type(env, "udpLeavePortGroup(handle): not a receiver handle");
    return NULL;
  }
  if (fd < 0) {
    throw_errno(env, "connect", EBADF);
    return NULL;
  }
  /* Its own address as the peer: nothing sends from it (a wildcard address connects to loopback). */
  sockaddr_any self;
  socklen_t len = sizeof self;
  if (getsockname(fd, &self.sa, &len) != 0 || connect(fd, &self.sa, len) != 0) {
    throw_errno(env, "connect", errno);
    return NULL;
  }
  return NULL;
}

/* Adds this file's functions to the module's exports; false when a napi call failed. */
bool reuseport_exports(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"udpOpenReusePort", NULL, udp_open_reuseport, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpListenReusePort", NULL, tcp_listen_reuseport, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpLeavePortGroup", NULL, udp_leave_port_group, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
