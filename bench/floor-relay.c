/*
 * The floor of what `relay bench` can measure on a machine: a relay reduced to one thread that
 * receives with recvmmsg and writes each batch, len32le-framed (or, with --lf, each datagram
 * followed by LF), to every destination in one write(). Not a product (no reconnect, no ring, no accounting); it shows how much of a latency
 * or loss figure belongs to the bench and the machine rather than to the relay under test.
 *
 *   cc -O2 -o /tmp/floor-relay bench/floor-relay.c
 *   ./bin/relay bench --rate 100000 --relay-cmd 'floor=exec /tmp/floor-relay udp@{udp} {tcp}'
 *   ./bin/relay bench --framing lf --rate 100000 --relay-cmd 'floor=exec /tmp/floor-relay --lf udp@{udp} {tcp}'
 *
 * IPv4 numeric addresses only: udp@A.B.C.D:PORT tcp@A.B.C.D:PORT...
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define MAX_DATAGRAM 2048
#define MAX_DESTINATIONS 16

/* "SCHEME@A.B.C.D:PORT" -> sockaddr; 0 on success. */
static int parse(const char *text, struct sockaddr_in *out) {
  const char *at = strchr(text, '@');
  const char *colon = strrchr(text, ':');
  char host[64];
  if (at == NULL || colon == NULL || colon - at - 1 >= (long)sizeof host) return -1;
  memcpy(host, at + 1, colon - at - 1);
  host[colon - at - 1] = 0;
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((unsigned short)atoi(colon + 1));
  return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
  struct sockaddr_in address;
  int lf = argc > 1 && strcmp(argv[1], "--lf") == 0;
  argc -= lf;
  argv += lf;
  int destinations = argc - 2;
  if (argc < 3 || destinations > MAX_DESTINATIONS || parse(argv[1], &address) != 0) {
    fprintf(stderr, "usage: floor-relay [--lf] udp@A.B.C.D:PORT tcp@A.B.C.D:PORT...\n");
    return 2;
  }
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  int rcvbuf = 32 << 20;
  setsockopt(udp, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(udp, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf); /* as the relay does */
  if (bind(udp, (struct sockaddr *)&address, sizeof address) != 0) {
    perror("bind");
    return 1;
  }
  int tcp[MAX_DESTINATIONS];
  for (int d = 0; d < destinations; d++) {
    struct sockaddr_in to;
    int one = 1;
    if (parse(argv[d + 2], &to) != 0) return 2;
    tcp[d] = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(tcp[d], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(tcp[d], (struct sockaddr *)&to, sizeof to) != 0) {
      perror("connect");
      return 1;
    }
  }
  static char datagrams[BATCH][MAX_DATAGRAM];
  static char frames[BATCH * (MAX_DATAGRAM + 4)];
  struct mmsghdr messages[BATCH];
  struct iovec vectors[BATCH];
  for (int i = 0; i < BATCH; i++) {
    vectors[i].iov_base = datagrams[i];
    vectors[i].iov_len = MAX_DATAGRAM;
    memset(&messages[i], 0, sizeof messages[i]);
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  for (;;) {
    int n = recvmmsg(udp, messages, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    size_t length = 0;
    for (int i = 0; i < n; i++) {
      unsigned size = messages[i].msg_len;
      if (lf) {
        memcpy(frames + length, datagrams[i], size);
        frames[length + size] = '\n';
        length += size + 1;
        continue;
      }
      memcpy(frames + length, &size, 4); /* little-endian hosts: the len32le header as is */
      memcpy(frames + length + 4, datagrams[i], size);
      length += 4 + size;
    }
    for (int d = 0; d < destinations; d++) {
      for (size_t written = 0; written < length;) {
        ssize_t w = write(tcp[d], frames + written, length - written);
        if (w <= 0) return 1;
        written += (size_t)w;
      }
    }
  }
}
