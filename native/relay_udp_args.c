/*
 * relay_udp, errors and arguments: what the receiver (relay_udp.c) and the bench's sender
 * (relay_udp_send.c) both use to check their arguments and to throw errors like node's own.
 */
#define _GNU_SOURCE
#include "relay_udp_common.h"

#include <uv.h>

#include <net/if.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- errors */

/* Throws Error("<syscall>: <strerror>") with code 'EXXX', errno -err and syscall, like node's own errors. */
void throw_errno(napi_env env, const char *syscall, int err) {
  char text[128];
  char message[192];
  /* strerror_r is thread-safe; glibc gives the GNU variant (returns the text), musl the XSI one (returns 0). */
#ifdef __GLIBC__
  const char *s = strerror_r(err, text, sizeof text);
#else
  const char *s = strerror_r(err, text, sizeof text) == 0 ? text : "unknown error";
#endif
  snprintf(message, sizeof message, "%s: %s", syscall, s);
  const char *code = uv_err_name(-err);
  napi_value msg, error, code_value, errno_value, syscall_value;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok) return;
  if (napi_create_error(env, NULL, msg, &error) != napi_ok) return;
  if (code != NULL && strncmp(code, "Unknown", 7) != 0 &&
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) == napi_ok) {
    napi_set_named_property(env, error, "code", code_value);
  }
  if (napi_create_int32(env, -err, &errno_value) == napi_ok) napi_set_named_property(env, error, "errno", errno_value);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) == napi_ok) {
    napi_set_named_property(env, error, "syscall", syscall_value);
  }
  napi_throw(env, error);
}

void throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
}

void throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
}

/* ---------------------------------------------------------------- arguments */

bool get_int(napi_env env, napi_value v, const char *what, int64_t min, int64_t max, int64_t *out) {
  napi_valuetype t;
  double d;
  char message[160];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    snprintf(message, sizeof message, "%s must be a number", what);
    throw_type(env, message);
    return false;
  }
  if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d) {
    snprintf(message, sizeof message, "%s must be an integer from %lld to %lld", what, (long long)min, (long long)max);
    throw_range(env, message);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

/* Parses a numeric host (IPv6 zone ids allowed) and port into a sockaddr of the given family. */
bool get_sockaddr(napi_env env, int family, napi_value host_value, int port, sockaddr_any *addr, socklen_t *len) {
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t n = 0;
  napi_valuetype t;
  if (napi_typeof(env, host_value, &t) != napi_ok || t != napi_string) {
    throw_type(env, "host must be a string");
    return false;
  }
  if (napi_get_value_string_utf8(env, host_value, host, sizeof host, &n) != napi_ok || n >= sizeof host - 1) {
    throw_type(env, "host must be a numeric IP address");
    return false;
  }
  memset(addr, 0, sizeof *addr);
  int rc = family == 4 ? uv_ip4_addr(host, port, &addr->in4) : uv_ip6_addr(host, port, &addr->in6);
  if (rc != 0) {
    char message[200];
    snprintf(message, sizeof message, "host \"%s\" is not a numeric IPv%d address", host, family);
    napi_throw_type_error(env, "ERR_INVALID_IP_ADDRESS", message);
    return false;
  }
  *len = family == 4 ? sizeof addr->in4 : sizeof addr->in6;
  return true;
}

bool get_family(napi_env env, napi_value v, int *family) {
  int64_t f;
  if (!get_int(env, v, "family", 4, 6, &f)) return false;
  if (f != 4 && f != 6) {
    throw_range(env, "family must be 4 or 6");
    return false;
  }
  *family = (int)f;
  return true;
}

/* Data, byte length and underlying ArrayBuffer (+ offset) of an ArrayBuffer or a typed array. */
bool get_bytes(napi_env env, napi_value v, const char *what, bool int32_only,
               uint8_t **data, size_t *length, napi_value *ab, size_t *offset) {
  bool is;
  char message[160];
  if (!int32_only && napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    void *d;
    if (napi_get_arraybuffer_info(env, v, &d, length) != napi_ok) return false;
    *data = d;
    *ab = v;
    *offset = 0;
    return true;
  }
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count;
    void *d;
    if (napi_get_typedarray_info(env, v, &type, &count, &d, ab, offset) != napi_ok) return false;
    if (int32_only && type != napi_int32_array) goto bad;
    if (!int32_only && type != napi_uint8_array && type != napi_int8_array && type != napi_uint8_clamped_array) goto bad;
    *data = d;
    *length = int32_only ? count * 4 : count;
    return true;
  }
bad:
  snprintf(message, sizeof message, "%s must be %s", what, int32_only ? "an Int32Array" : "an ArrayBuffer or a Uint8Array");
  throw_type(env, message);
  return false;
}
