/**
 * logger(1) from util-linux, the real client of a local syslog socket, sending to a unix@ listener:
 * node cannot send Unix datagrams. A test without it skips, or fails when CI=true (.ci/run
 * installs it: Debian's bsdutils).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';

/** Why logger cannot run here, or undefined. */
export const LOGGER_MISSING: string | undefined =
  spawnSync('logger', ['--version'], { stdio: 'ignore' }).status === 0 ? undefined : 'logger (util-linux; Debian: bsdutils) is not installed';

/** True when logger is missing: skips the test, or fails it when CI=true. */
export function missingLogger(t: TestContext): boolean {
  if (LOGGER_MISSING === undefined) return false;
  if (process.env.CI === 'true') assert.fail(`${LOGGER_MISSING}, and CI=true requires it`);
  t.skip(LOGGER_MISSING);
  return true;
}

/**
 * Sends to the Unix datagram socket at `path` as `tag`: each of `lines` as one datagram (logger
 * reads them from stdin), or with `oneMessage` the text as one datagram however many LFs it holds
 * (an argument). A full socket makes logger wait, so nothing is lost. Resolves when logger exited 0.
 */
export async function logTo(path: string, tag: string, send: { lines: string[] } | { oneMessage: string }): Promise<void> {
  const args = ['--socket-errors=on', '-u', path, '-d', '-t', tag];
  // With the message as an argument logger reads no stdin and may exit before a write to it (EPIPE): give it none.
  const child =
    'oneMessage' in send
      ? spawn('logger', [...args, send.oneMessage], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('logger', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  if ('lines' in send) {
    // A logger that failed early shows in its exit code below, not as an EPIPE thrown here.
    child.stdin!.on('error', () => {});
    child.stdin!.end(`${send.lines.join('\n')}\n`);
  }
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, `logger exited ${code}: ${stderr}`);
  assert.equal(stderr, '', 'logger reported an error');
}

/** What logger's message `text` sent as `tag` ends with in the datagram (`<13>Dec  7 14:02:17 TAG: TEXT`). */
export function loggedAs(tag: string, text: string): RegExp {
  return new RegExp(`^<\\d+>.* ${tag}: ${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 's');
}
