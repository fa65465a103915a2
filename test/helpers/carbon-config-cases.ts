/**
 * Hand-written carbon-c-relay configurations, each with what parseCarbonConfig must make of it:
 * test/unit/carbon-config.test.ts checks our side, test/unit/carbon-config-oracle.test.ts that the
 * real carbon-c-relay accepts exactly the ones we accept (those we refuse as "not supported" may be
 * valid for it). The file is c.conf; `files` are written beside it, for includes.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CarbonConfig } from '../../src/route/carbon-config.js';
import { REFUSED } from './carbon-config-refusals.js';

export interface ConfigCase {
  what: string;
  text: string;
  /** Our error, exactly; undefined: accepted. */
  error?: string;
  /** For an accepted one: what the tree must hold. */
  check?: (config: CarbonConfig) => void;
  /** Files beside c.conf: path (relative to c.conf's directory, the working directory) to text. */
  files?: Record<string, string>;
}

/** Writes c.conf and the case's files into `dir`. */
export async function writeCase(dir: string, c: ConfigCase): Promise<void> {
  for (const [name, text] of Object.entries({ 'c.conf': c.text, ...c.files })) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text, 'latin1');
  }
}

const C = 'cluster c forward 127.0.0.1:2003;\n';
const CD = `${C}cluster d any_of 127.0.0.2:2003 127.0.0.3;\n`;

/** The clusters, rules and listeners of a config without the file and line fields. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, v) => (key === 'file' || key === 'line' ? undefined : v)));
}

const ACCEPTED: ConfigCase[] = [
  // ---- accepted ----
  { what: 'an empty file', text: '', check: (c) => assert.deepEqual(plain(c), { clusters: [], rules: [], listeners: [], files: ['c.conf'] }) },
  { what: 'only comments', text: '# one\n   # two\n', check: (c) => assert.equal(c.rules.length, 0) },
  {
    what: 'a forward cluster, default port',
    text: 'cluster c forward 127.0.0.1 10.0.0.1:2004;\n',
    check: (c) =>
      assert.deepEqual(plain(c.clusters), [
        {
          name: 'c',
          type: 'forward',
          replication: 1,
          dynamic: false,
          members: [
            { host: '127.0.0.1', port: 2003, tls: false },
            { host: '10.0.0.1', port: 2004, tls: false },
          ],
        },
      ]),
  },
  {
    what: 'any_of and failover clusters',
    text: 'cluster a any_of 127.0.0.1:1 127.0.0.1:2;\ncluster f failover 127.0.0.2:1 127.0.0.2:2;\n',
    check: (c) =>
      assert.deepEqual(
        c.clusters.map((k) => `${k.name}:${k.type}:${k.members.length}`),
        ['a:any_of:2', 'f:failover:2'],
      ),
  },
  {
    what: 'hash clusters: replication, dynamic, instances (an unquoted number goes through an int)',
    text: 'cluster h carbon_ch replication 2 dynamic\n  127.0.0.1:2003=a\n  127.0.0.1:2004=007\n  127.0.0.1:2005 = "007";\ncluster f fnv1a_ch 10.0.0.1;\ncluster j jump_fnv1a_ch replication 1 10.0.0.2=2;\n',
    check: (c) => {
      const [h, f, j] = c.clusters;
      assert.deepEqual([h!.type, h!.replication, h!.dynamic, h!.members.map((m) => m.instance)], ['carbon_ch', 2, true, ['a', '7', '007']]);
      assert.deepEqual([f!.type, f!.replication, f!.dynamic, j!.type, j!.members[0]!.instance], ['fnv1a_ch', 1, false, 'jump_fnv1a_ch', '2']);
      assert.deepEqual(
        h!.members.map((m) => m.line),
        [2, 3, 4],
      );
    },
  },
  {
    what: 'member options, IPv6 in brackets, TLS',
    text: 'cluster c forward [::1] [::1]:2004 proto tcp type linemode transport plain\n  127.0.0.1:2005 transport plain ssl;\n',
    check: (c) =>
      assert.deepEqual(plain(c.clusters[0]!.members), [
        { host: '::1', port: 2003, tls: false },
        { host: '::1', port: 2004, tls: false },
        { host: '127.0.0.1', port: 2005, tls: true },
      ]),
  },
  {
    what: 'a host name member that does not resolve',
    text: 'cluster c forward no-such-host.invalid:2003;\n',
    check: (c) => assert.equal(c.clusters[0]!.members[0]!.host, 'no-such-host.invalid'),
  },
  {
    what: 'matches: *, several expressions, several clusters, stop',
    text: `${CD}match * send to c;\nmatch ^a\\. b$ send to c d stop;\n`,
    check: (c) =>
      assert.deepEqual(plain(c.rules), [
        { kind: 'match', expressions: ['*'], stop: false, send: ['c'] },
        { kind: 'match', expressions: ['^a\\.', 'b$'], stop: true, send: ['c', 'd'] },
      ]),
  },
  {
    what: 'blackhole stops, quoted or not',
    text: `${C}match x send to blackhole;\nmatch y send to "blackhole" c;\n`,
    check: (c) =>
      assert.deepEqual(plain(c.rules), [
        { kind: 'match', expressions: ['x'], stop: true, send: ['blackhole'] },
        { kind: 'match', expressions: ['y'], stop: true, send: ['blackhole', 'c'] },
      ]),
  },
  {
    what: 'validate: global (no send to, stop ignored), and with destinations',
    text: `${C}match * validate ^[0-9]+\\ [0-9]+$ else drop stop;\nmatch ^a validate "^[0-9.]+ [0-9]+$" else log send to c stop;\n`,
    check: (c) =>
      assert.deepEqual(plain(c.rules), [
        { kind: 'match', expressions: ['*'], stop: false, validate: { expression: '^[0-9]+\\ [0-9]+$', onFailure: 'drop' } },
        { kind: 'match', expressions: ['^a'], stop: true, validate: { expression: '^[0-9.]+ [0-9]+$', onFailure: 'log' }, send: ['c'] },
      ]),
  },
  {
    what: 'quoted expressions: ; and spaces, escapes, "*" is match-all, a keyword as a cluster name',
    text: 'cluster "stop" forward 127.0.0.1;\nmatch "a;b c" "x\\"y\\.z" "*" send to "stop";\n',
    check: (c) => assert.deepEqual(plain(c.rules), [{ kind: 'match', expressions: ['a;b c', 'x"y.z', '*'], stop: false, send: ['stop'] }]),
  },
  {
    what: 'a quoted string goes on over a blank line',
    text: `${C}match "a\n\nb" send to c;\n`,
    check: (c) => assert.deepEqual((c.rules[0] as { expressions: string[] }).expressions, ['ab']),
  },
  {
    what: 'a quoted string of 1023 bytes, the most there is room for',
    text: `${C}match "${'a'.repeat(1023)}" send to c;\n`,
    check: (c) => assert.equal((c.rules[0] as { expressions: string[] }).expressions[0]!.length, 1023),
  },
  {
    what: 'rewrite, in file order with matches',
    text: `${C}match * send to c;\nrewrite ^server\\.(.+)\\.([a-z]+)([0-9]+) into server.\\_1.\\2.\\2\\3;\nmatch * send to c;\n`,
    check: (c) => {
      assert.deepEqual(
        c.rules.map((r) => `${r.kind}:${r.line}`),
        ['match:2', 'rewrite:3', 'match:4'],
      );
      assert.deepEqual(plain(c.rules[1]), { kind: 'rewrite', expression: '^server\\.(.+)\\.([a-z]+)([0-9]+)', replacement: 'server.\\_1.\\2.\\2\\3' });
    },
  },
  {
    what: 'statistics: every clause',
    text: `${C}statistics submit every 10 seconds reset counters after interval prefix with carbon.\\_2 send to c stop;\n`,
    check: (c) => assert.deepEqual(plain(c.statistics), { intervalSeconds: 10, resetCounters: true, prefix: 'carbon.\\_2', send: ['c'] }),
  },
  {
    what: 'statistics: merged, a later statement without reset turns it off, send statistics to',
    text: `${C}statistics reset counters after interval;\nstatistics prefix with x;\nsend statistics to c stop;\n`,
    check: (c) => assert.deepEqual(plain(c.statistics), { intervalSeconds: 60, resetCounters: false, prefix: 'x', send: ['c'] }),
  },
  {
    what: 'statistics alone',
    text: 'statistics;\n',
    check: (c) => assert.deepEqual(plain(c.statistics), { intervalSeconds: 60, resetCounters: false, prefix: 'carbon.relays.\\.1' }),
  },
  {
    what: 'listeners: port, host:port, [v6]:port, :port, host alone, transport plain',
    text: 'listen type linemode transport plain 2003 proto tcp 2007 proto udp 127.0.0.1:2004 proto tcp\n  [::1]:2005 proto udp;\nlisten type linemode :2006 proto tcp 127.0.0.2 proto udp;\n',
    check: (c) =>
      assert.deepEqual(
        c.listeners.map((l) => `${l.host ?? '*'} ${l.port} ${l.proto} ${l.line}`),
        ['* 2003 tcp 1', '* 2007 udp 1', '127.0.0.1 2004 tcp 1', '::1 2005 udp 2', '* 2006 tcp 3', '127.0.0.2 2003 udp 3'],
      ),
  },
  {
    what: 'IPv4 and IPv6 listeners on one port',
    text: 'listen type linemode 0.0.0.0:2003 proto tcp;\nlisten type linemode [::1]:2003 proto tcp;\n',
    check: (c) => assert.equal(c.listeners.length, 2),
  },
  {
    what: 'comments in odd places',
    text: 'cluster # name next\n c forward#type\n 127.0.0.1 # member\n ; # after\nmatch#\n*\nsend to c;#\n',
    check: (c) => assert.deepEqual([c.clusters[0]!.name, c.rules[0]!.line], ['c', 5]),
  },
  {
    what: 'a keyword runs into the next word, as flex cuts it',
    text: 'cluster c forward127.0.0.1;\nmatch^a send to c;\n',
    check: (c) => assert.deepEqual([c.clusters[0]!.members[0]!.host, (c.rules[0] as { expressions: string[] }).expressions], ['127.0.0.1', ['^a']]),
  },
  {
    what: 'one server in two clusters with the same instance (=007 is 7)',
    text: 'cluster c forward 127.0.0.1:2003=007;\ncluster d carbon_ch 127.0.0.1:2003=7;\n',
    check: (c) => assert.equal(c.clusters.length, 2),
  },
  {
    what: 'one server twice in a forward cluster',
    text: 'cluster c forward 127.0.0.1 127.0.0.1;\n',
    check: (c) => assert.equal(c.clusters[0]!.members.length, 2),
  },
  {
    what: 'an any_of server used again later by a forward cluster',
    text: 'cluster d any_of 127.0.0.1;\ncluster c forward 127.0.0.1;\n',
    check: (c) => assert.equal(c.clusters.length, 2),
  },
  {
    what: 'replication 4294967297 is 1 (atoi)',
    text: 'cluster h carbon_ch replication 4294967297 127.0.0.1;\n',
    check: (c) => assert.equal(c.clusters[0]!.replication, 1),
  },
  {
    what: 'include: a file and a glob (sorted), relative to the working directory, clusters visible after',
    text: 'include inc/first.conf;\ninclude "inc/*.part";\nmatch * send to c d;\n',
    files: { 'inc/first.conf': C, 'inc/b.part': 'cluster d forward 127.0.0.2;\n', 'inc/a.part': 'match * send to c;\n', 'inc/.hidden.part': 'garbage' },
    check: (c) => {
      assert.deepEqual(c.files, ['c.conf', 'inc/first.conf', 'inc/a.part', 'inc/b.part']);
      assert.deepEqual(
        c.rules.map((r) => `${r.file}:${r.line}`),
        ['inc/a.part:1', 'c.conf:3'],
      );
    },
  },
];

/** Every case: the accepted ones, then the refused ones. */
export const CONFIG_CASES: ConfigCase[] = [...ACCEPTED, ...REFUSED];
