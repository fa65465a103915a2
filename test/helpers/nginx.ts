/**
 * A private nginx with its stream module, for the tests that put the real one in front of relays
 * (Debian's nginx and libnginx-mod-stream; .ci/run installs them): found on PATH or in /usr/sbin
 * (or $NGINX), run in the foreground (`daemon off`) with a config the test writes in its temp
 * directory (the prefix, pid file and logs there too; errors on stderr), on free ports, stopped by
 * the test through its master process (which stops its worker).
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { waitAccepting } from './carbon-relay.js';
import { findExecutable, missingServer } from './haproxy.js';
import { freePort, freeUdpPort } from './numbered.js';
import { RelayProcess } from './relay-process.js';

/** Where Debian's libnginx-mod-stream puts the stream module (or $NGINX_STREAM_MODULE). */
const STREAM_MODULE = process.env.NGINX_STREAM_MODULE ?? '/usr/lib/nginx/modules/ngx_stream_module.so';

/** True when nginx or its stream module is missing: skips the test with one line, or fails it when CI=true. */
export function missingNginxStream(t: TestContext): boolean {
  const install = 'apt-get install nginx libnginx-mod-stream';
  if (missingServer(t, 'nginx', 'NGINX', install)) return true;
  if (existsSync(STREAM_MODULE)) return false;
  const why = `nginx's stream module is not installed (no ${STREAM_MODULE}; ${install})`;
  if (process.env.CI === 'true') assert.fail(`${why}, and CI=true requires it`);
  t.skip(why);
  return true;
}

/**
 * Starts nginx with `stream(ports)` as its stream block's servers and upstreams (`count` free UDP
 * ports for them; a few tries, in case another process took one first); resolves once it accepts
 * on a TCP port of its own, which answers and closes. As root, its worker runs as root too (the
 * `user` directive), so it can read what the test wrote.
 */
export async function startNginx(dir: string, count: number, stream: (ports: number[]) => string): Promise<{ ports: number[]; process: RelayProcess }> {
  const binary = findExecutable('nginx', 'NGINX')!;
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freeUdpPort());
    const probePort = await freePort();
    const conf = path.join(dir, `nginx-${attempt}.conf`);
    const user = process.getuid?.() === 0 ? [`user ${os.userInfo().username};`] : [];
    await writeFile(
      conf,
      [
        `load_module ${STREAM_MODULE};`,
        'daemon off;',
        ...user,
        'worker_processes 1;',
        `pid ${path.join(dir, 'nginx.pid')};`,
        'error_log stderr warn;',
        'events { worker_connections 1024; }',
        'stream {',
        stream(ports),
        `  server { listen 127.0.0.1:${probePort}; return "ready\\n"; }`,
        '}',
        '',
      ].join('\n'),
    );
    // -p: nothing of the default prefix is used; -e: errors before the config is read go to stderr too.
    const nginx = new RelayProcess(spawn(binary, ['-p', dir, '-e', 'stderr', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      // The master binds every listener before it starts the worker, which then reads what queued.
      await waitAccepting(nginx, probePort, 10_000, 'nginx');
      return { ports, process: nginx };
    } catch (error) {
      await nginx.stop('SIGTERM', 5000);
      if (attempt >= 3) throw error;
    }
  }
}
