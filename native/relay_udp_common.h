/*
 * What crosses the source files of the relay_udp addon: relay_udp.c (the receiver and the module's
 * exports) uses relay_udp_send.c (the bench's batched sender), relay_unix.c (Unix datagram sockets,
 * which receive with relay_udp.c's receiver), relay_reuseport.c (listening sockets that share a port)
 * and relay_reclaimer.c (the background thread); all use
 * relay_udp_args.c (errors and argument checks), which uses none of them; relay_notify.c (systemd:
 * sd_notify, passed sockets) adds its exports and receives with relay_udp.c's receiver.
 * Nothing here is exported from the shared library (binding.gyp builds with -fvisibility=hidden).
 */
#ifndef RELAY_UDP_COMMON_H
#define RELAY_UDP_COMMON_H

#include <node_api.h>

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
} sockaddr_any;

/* Datagrams per recvmmsg call, at most. */
#define MAX_BATCH 256

/* What a receiver reads into and calls, whatever its socket (udpOpen's and unixOpen's last five arguments, checked). */
typedef struct receive_args {
  int rcvbuf;          /* SO_RCVBUF to ask for; 0: keep the default */
  size_t slot;         /* maxDatagramBytes: bytes of the batch buffer per datagram */
  unsigned capacity;   /* datagrams per batch: as many as both buffers hold, at most MAX_BATCH */
  uint8_t *batch;
  int32_t *meta;
  size_t meta_offset;  /* byte offset of meta in its ArrayBuffer */
  napi_value batch_ab; /* the ArrayBuffer (or SharedArrayBuffer) under batch */
  napi_value meta_ab;  /* the one under meta */
  void *batch_ab_data; /* where each starts */
  void *meta_ab_data;
  napi_value on_batch;
} receive_args;

/* Evaluates a napi call; on failure throws (if nothing is pending yet) and returns `failed`. */
#define NAPI_OR_RETURN(env, call, failed)                                                   \
  do {                                                                                      \
    if ((call) != napi_ok) {                                                                \
      bool pending_ = false;                                                                \
      napi_is_exception_pending((env), &pending_);                                          \
      if (!pending_) napi_throw_error((env), "ERR_RELAY_UDP", "N-API call failed: " #call); \
      return (failed);                                                                      \
    }                                                                                       \
  } while (0)

/* Evaluates a napi call; on failure throws (if nothing is pending yet) and returns NULL. */
#define NAPI_OR_NULL(env, call) NAPI_OR_RETURN(env, call, NULL)

/* ---------------------------------------------------------------- errors and arguments (relay_udp_args.c) */

/* Throws Error("<syscall>: <strerror>") with code 'EXXX', errno -err and syscall, like node's own errors. */
void throw_errno(napi_env env, const char *syscall, int err);
void throw_type(napi_env env, const char *message);
void throw_range(napi_env env, const char *message);

/* An integer from min to max; false with a TypeError or RangeError thrown naming `what`. */
bool get_int(napi_env env, napi_value v, const char *what, int64_t min, int64_t max, int64_t *out);
/* 4 or 6. */
bool get_family(napi_env env, napi_value v, int *family);
/* Parses a numeric host (IPv6 zone ids allowed) and port into a sockaddr of the given family. */
bool get_sockaddr(napi_env env, int family, napi_value host_value, int port, sockaddr_any *addr, socklen_t *len);
/* Data, byte length and underlying ArrayBuffer (+ offset) of an ArrayBuffer or a typed array. */
bool get_bytes(napi_env env, napi_value v, const char *what, bool int32_only, uint8_t **data, size_t *length, napi_value *ab,
               size_t *offset);

/* ---------------------------------------------------------------- the receiver (relay_udp.c) */

/* Reads argv[0..4] (recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch); false with a TypeError or RangeError thrown. */
bool receive_args_get(napi_env env, const napi_value *argv, receive_args *a);
/* Asks for SO_RCVBUF = size; a refusal keeps what the kernel gives (read back with udpRecvBufferSize). */
void socket_set_recv_buffer(int fd, int size);
/* Starts receiving on the bound, non-blocking datagram socket fd into a's buffers: the receiver handle, or NULL with the error thrown (fd closed). */
napi_value receiver_open(napi_env env, int fd, const receive_args *a);
/* The fd of a receiver handle (-1 once closed), or -2 when v is not a receiver handle. */
int receiver_fd(napi_env env, napi_value v);

/* ---------------------------------------------------------------- Unix datagram sockets (relay_unix.c) */

/* unixOpen(path, recvBufferBytes, batchBuffer, meta, maxDatagramBytes, onBatch) -> receiver handle */
napi_value unix_open(napi_env env, napi_callback_info info);
/* unixUserId(name) -> uid, or null when no such user */
napi_value unix_user_id(napi_env env, napi_callback_info info);
/* unixGroupId(name) -> gid, or null when no such group */
napi_value unix_group_id(napi_env env, napi_callback_info info);

/* ---------------------------------------------------------------- shared ports, SO_REUSEPORT (relay_reuseport.c) */

/* Adds udpOpenReusePort, tcpListenReusePort and udpLeavePortGroup to the module's exports; false when a napi call failed. */
bool reuseport_exports(napi_env env, napi_value exports);
/* ---------------------------------------------------------------- systemd (relay_notify.c) */

/* Adds notifySend, socketInfo, fdDuplicate and udpAdopt to exports; false when a napi call failed. */
bool notify_exports(napi_env env, napi_value exports);

/* ---------------------------------------------------------------- the sender (relay_udp_send.c) */

/* udpSenderOpen(family, host, port) -> handle */
napi_value udp_sender_open(napi_env env, napi_callback_info info);
/* udpSendBatch(handle, buffer, lengths, count) -> datagrams sent */
napi_value udp_send_batch(napi_env env, napi_callback_info info);
/* udpSenderClose(handle) */
napi_value udp_sender_close(napi_env env, napi_callback_info info);
/* The fd of a sender handle (-1 once closed), or -2 when v is not a sender handle. */
int sender_fd(napi_env env, napi_value v);

/* ---------------------------------------------------------------- the background thread (relay_reclaimer.c) */

/* reclaimerStart(control, indices, intervalMs) -> handle */
napi_value reclaimer_start(napi_env env, napi_callback_info info);
/* reclaimerJoin(handle) */
napi_value reclaimer_join(napi_env env, napi_callback_info info);
/* reclaimerThreadId(handle) -> kernel thread id */
napi_value reclaimer_thread_id(napi_env env, napi_callback_info info);
/* reclaimerComputeHead(control, indices) -> HEAD */
napi_value reclaimer_compute_head(napi_env env, napi_callback_info info);

#endif
