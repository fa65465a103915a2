/*
 * thread-stop TID: stops one thread of another process (not the process: the other threads run on)
 * until its stdin closes, then lets it go. The systemd watchdog test uses it for an honest stall of
 * one relay thread (test/helpers/thread-stop.ts builds and runs it). ptrace(2): PTRACE_SEIZE then
 * PTRACE_INTERRUPT stop only the thread named; if this process dies, the kernel detaches it.
 *
 * Prints "stopped" once the thread is stopped, "resumed" after the detach. Exit 3: ptrace was
 * refused (EPERM: Yama's ptrace_scope, or no CAP_SYS_PTRACE), 1: another failure, 2: usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: thread-stop TID\n");
    return 2;
  }
  pid_t tid = (pid_t)strtol(argv[1], NULL, 10);
  if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
    int err = errno;
    fprintf(stderr, "PTRACE_SEIZE %d: %s\n", (int)tid, strerror(err));
    return err == EPERM ? 3 : 1;
  }
  if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0) {
    fprintf(stderr, "PTRACE_INTERRUPT %d: %s\n", (int)tid, strerror(errno));
    return 1;
  }
  int status = 0;
  if (waitpid(tid, &status, __WALL) != tid) {
    fprintf(stderr, "waitpid %d: %s\n", (int)tid, strerror(errno));
    return 1;
  }
  printf("stopped\n");
  fflush(stdout);
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  if (ptrace(PTRACE_DETACH, tid, NULL, NULL) != 0) {
    fprintf(stderr, "PTRACE_DETACH %d: %s\n", (int)tid, strerror(errno));
    return 1;
  }
  printf("resumed\n");
  return 0;
}
