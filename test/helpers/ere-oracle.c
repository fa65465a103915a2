/*
 * The oracle for src/route/posix-ere.ts: glibc's regcomp(REG_EXTENDED) and regexec, as
 * carbon-c-relay calls them. Reads lines "HEXPATTERN HEXSUBJECT" (bytes as hex, so any byte
 * but NUL can be tested) and answers one line each:
 *   E <errcode>                    regcomp refused the pattern
 *   N <nsub>                       compiled, no match
 *   M <nsub> <so>,<eo> ...         a match: pmatch[0..nsub] (-1,-1 for a group that did not participate)
 *   T                              glibc spent more than 2 s of CPU on it (its regexec is slow on
 *                                  some nested repetitions and never returns on a few): abandoned
 * Run with LC_ALL=C: the relay treats subjects as bytes.
 */
#include <locale.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static sigjmp_buf expired;

static void on_alarm(int signal) {
  (void)signal;
  siglongjmp(expired, 1);
}

/* Arms (seconds > 0) or disarms (0) the per-case CPU-time limit. */
static void limit(int seconds) {
  struct itimerval timer = {{0, 0}, {seconds, 0}};
  setitimer(ITIMER_PROF, &timer, NULL);
}

static size_t unhex(const char *hex, size_t len, char *out) {
  size_t n = 0;
  for (size_t i = 0; i + 1 < len; i += 2) {
    unsigned int byte;
    if (sscanf(hex + i, "%2x", &byte) != 1) break;
    out[n++] = (char)byte;
  }
  out[n] = '\0';
  return n;
}

int main(void) {
  setlocale(LC_ALL, "C");
  signal(SIGPROF, on_alarm);
  static char line[1 << 16], pattern[1 << 15], subject[1 << 15];
  while (fgets(line, sizeof line, stdin) != NULL) {
    char *space = strchr(line, ' ');
    if (space == NULL) return 2;
    size_t patternHex = (size_t)(space - line);
    size_t subjectHex = strcspn(space + 1, "\r\n");
    unhex(line, patternHex, pattern);
    unhex(space + 1, subjectHex, subject);
    static regex_t re;
    if (sigsetjmp(expired, 1) != 0) {
      /* The regex (and whatever regexec held) is abandoned: it may be half-updated. */
      printf("T\n");
      continue;
    }
    limit(2);
    int code = regcomp(&re, pattern, REG_EXTENDED);
    if (code != 0) {
      limit(0);
      printf("E %d\n", code);
    } else {
      size_t nmatch = re.re_nsub + 1;
      regmatch_t *pmatch = calloc(nmatch, sizeof *pmatch);
      int found = regexec(&re, subject, nmatch, pmatch, 0);
      limit(0);
      if (found != 0) {
        printf("N %zu\n", re.re_nsub);
      } else {
        printf("M %zu", re.re_nsub);
        for (size_t i = 0; i < nmatch; i++) printf(" %d,%d", (int)pmatch[i].rm_so, (int)pmatch[i].rm_eo);
        printf("\n");
      }
      free(pmatch);
      regfree(&re);
    }
  }
  return 0;
}
