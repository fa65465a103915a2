/**
 * Socket activation without a process: what LISTEN_* pass (src/service/socket-activation.ts), what
 * a passed socket can serve, which listener takes which (src/service/activated-socket.ts), the
 * ?fdname= address option, and the STATUS= and notification texts. Through bin/relay and
 * systemd-socket-activate: test/e2e/systemd-socket-activation.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LISTENER_ADDRESS, parseEndpoint } from '../../src/config/address.js';
import { describeSocket, parseListenFds, passedSocketNote, takeActivatedSockets, unusedSockets } from '../../src/service/socket-activation.js';
import { ActivatedSockets, type ActivatedSocket } from '../../src/service/activated-socket.js';
import { notifyMessage, notifySocketProblem } from '../../src/service/notify.js';
import { statusLine } from '../../src/service/status.js';
import type { RelayError } from '../../src/errors.js';
import type { ListenerOptions } from '../../src/thread-protocol.js';
import type { Snapshot } from '../../src/metrics/snapshot-types.js';

const PID = 777;

test('parseListenFds: fds 3.. for this pid, names when their count matches; nothing for another pid or without LISTEN_FDS', () => {
  assert.deepEqual(parseListenFds({ LISTEN_FDS: '2', LISTEN_PID: '777', LISTEN_FDNAMES: 'syslog:tls' }, PID), { fds: [3, 4], names: ['syslog', 'tls'] });
  assert.deepEqual(parseListenFds({ LISTEN_FDS: '2', LISTEN_PID: '777', LISTEN_FDNAMES: 'only-one' }, PID), { fds: [3, 4], names: [undefined, undefined] });
  assert.deepEqual(parseListenFds({ LISTEN_FDS: '2', LISTEN_PID: '777', LISTEN_FDNAMES: ':b' }, PID), { fds: [3, 4], names: [undefined, 'b'] });
  assert.deepEqual(parseListenFds({ LISTEN_FDS: '0', LISTEN_PID: '777' }, PID), { fds: [], names: [] });
  assert.equal(parseListenFds({ LISTEN_FDS: '2', LISTEN_PID: '778' }, PID), undefined, 'inherited from a parent');
  assert.equal(parseListenFds({ LISTEN_FDS: '2' }, PID), undefined);
  assert.equal(parseListenFds({}, PID), undefined);
  assert.throws(
    () => parseListenFds({ LISTEN_FDS: 'two', LISTEN_PID: '777' }, PID),
    (e: RelayError) => e.code === 'ERR_BAD_OPTION' && /LISTEN_FDS="two"/.test(e.message),
  );
});

test('takeActivatedSockets: removes LISTEN_* from the environment, for this pid or not; none passed is []', () => {
  for (const pid of ['777', '1']) {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '0', LISTEN_PID: pid, LISTEN_FDNAMES: '', KEEP: 'x' };
    assert.deepEqual(takeActivatedSockets(env, PID), []);
    assert.deepEqual(env, { KEEP: 'x' });
  }
});

test('describeSocket: udp, listening tcp, unix datagram; anything else is "other", each with its text', () => {
  const udp = describeSocket(3, 'relay.socket', { type: 'dgram', family: 'ipv6', address: '::', port: 514, listening: false });
  assert.deepEqual(udp, { fd: 3, name: 'relay.socket', kind: 'udp', host: '::', port: 514, text: 'udp [::]:514 (fd 3, "relay.socket")' });
  assert.equal(
    describeSocket(4, undefined, { type: 'stream', family: 'ipv4', address: '127.0.0.1', port: 2008, listening: true }).text,
    'tcp 127.0.0.1:2008 (fd 4)',
  );
  const unix = describeSocket(5, undefined, { type: 'dgram', family: 'unix', path: '/run/relay/log', listening: false });
  assert.deepEqual(unix, { fd: 5, name: undefined, kind: 'unix', path: '/run/relay/log', text: 'unix /run/relay/log (fd 5)' });
  const idle = describeSocket(6, undefined, { type: 'stream', family: 'ipv4', address: '127.0.0.1', port: 9, listening: false });
  assert.equal(idle.kind, 'other');
  assert.equal(idle.text, 'ipv4 stream (not listening) 127.0.0.1:9 (fd 6)');
  assert.equal(describeSocket(7, undefined, { type: 'stream', family: 'unix', path: '', listening: true }).text, 'unix stream (unnamed) (fd 7)');
});

/** A listener as the ingest thread opens it. */
function listener(index: number, address: string): ListenerOptions {
  const e = parseEndpoint(address, LISTENER_ADDRESS);
  const scheme = e.scheme === 'relp' ? 'tcp' : e.scheme;
  return { index, scheme, host: e.host, port: e.port, text: e.text, framing: 'len32le', split: e.split, proxy: e.proxy, fdname: e.fdname };
}

const SOCKETS: ActivatedSocket[] = [
  { fd: 3, name: 'syslog', kind: 'udp', host: '::', port: 514, text: 'udp [::]:514 (fd 3, "syslog")' },
  { fd: 4, name: 'syslog', kind: 'udp', host: '127.0.0.1', port: 515, text: 'udp 127.0.0.1:515 (fd 4, "syslog")' },
  { fd: 5, name: 'input', kind: 'tcp', host: '0.0.0.0', port: 2008, text: 'tcp 0.0.0.0:2008 (fd 5, "input")' },
  { fd: 6, name: 'local', kind: 'unix', path: '/run/relay/log', text: 'unix /run/relay/log (fd 6, "local")' },
];

/** The fd `address` takes from SOCKETS (its host taken as resolved to `host`), or undefined when it binds itself. */
function fdFor(address: string, host?: string): number | undefined {
  const l = listener(0, address);
  return new ActivatedSockets(SOCKETS).take(l, host ?? l.host)?.socket.fd;
}

test('ActivatedSockets: by address, of the listener kind; both wildcards on one port match; port 0 and other ports bind themselves', () => {
  assert.equal(fdFor('udp@[::]:514'), 3);
  assert.equal(fdFor('udp@0.0.0.0:514'), 3, 'ListenDatagram=514 is [::]:514, dual-stack');
  assert.equal(fdFor('udp@127.0.0.1:515'), 4);
  assert.equal(fdFor('udp@localhost:515', '127.0.0.1'), 4, 'a name, as it resolved');
  assert.equal(fdFor('udp@127.0.0.2:515'), undefined);
  assert.equal(fdFor('udp@127.0.0.1:514'), undefined, 'a wildcard socket is not a specific address');
  assert.equal(fdFor('tcp@[::]:2008'), 5);
  assert.equal(fdFor('tls@0.0.0.0:2008'), 5, 'tls@ takes a stream socket');
  assert.equal(fdFor('udp@0.0.0.0:2008'), undefined, 'a stream socket is no udp@ listener');
  assert.equal(fdFor('tcp@0.0.0.0:514'), undefined, 'a datagram socket is no tcp@ listener');
  assert.equal(fdFor('unix@/run/relay/log'), 6);
  assert.equal(fdFor('unix@/run/relay/other'), undefined);
  assert.equal(fdFor('udp@0.0.0.0:0'), undefined);
});

test('ActivatedSockets: ?fdname= takes the socket of that name (several: the one at its address); none, or none at its address, is an error', () => {
  assert.equal(fdFor('tcp@127.0.0.1:0?fdname=input'), 5, 'the address does not matter for a unique name');
  assert.equal(fdFor('unix@/elsewhere?fdname=local'), 6);
  assert.equal(fdFor('udp@127.0.0.1:515?fdname=syslog'), 4);
  assert.equal(fdFor('udp@0.0.0.0:514?fdname=syslog'), 3);
  assert.throws(
    () => fdFor('udp@0.0.0.0:516?fdname=syslog'),
    /^Error: systemd passed 2 udp sockets named "syslog" and none is bound to udp@0\.0\.0\.0:516\?fdname=syslog$/,
  );
  assert.throws(
    () => fdFor('udp@0.0.0.0:514?fdname=input'),
    /^Error: systemd passed no udp socket named "input" \(it passed udp \[::\]:514 \(fd 3, "syslog"\), /,
  );
  assert.equal(new ActivatedSockets([]).take(listener(0, 'udp@0.0.0.0:514?fdname=x'), '0.0.0.0'), undefined, 'no socket activation: binds itself');
});

test('ActivatedSockets: one listener per passed socket; its own slot may take it again (reopened), and it is free once released', () => {
  const sockets = new ActivatedSockets(SOCKETS);
  const first = sockets.take(listener(0, 'udp@0.0.0.0:514'), '0.0.0.0');
  assert.equal(first?.socket.fd, 3);
  assert.equal(first?.family, 6);
  assert.throws(
    () => sockets.take(listener(1, 'udp@[::]:514'), '::'),
    /^Error: the socket systemd passed, udp \[::\]:514 \(fd 3, "syslog"\), is already used by another listener$/,
  );
  assert.equal(sockets.take(listener(0, 'udp@[::]:514'), '::')?.socket.fd, 3);
  sockets.release(first, 1);
  assert.throws(() => sockets.take(listener(1, 'udp@[::]:514'), '::'), /already used/, 'released by its holder only');
  sockets.release(first, 0);
  assert.equal(sockets.take(listener(1, 'udp@[::]:514'), '::')?.socket.fd, 3);
  assert.equal(sockets.take(listener(2, 'udp@127.0.0.1:515'), '127.0.0.1')?.family, 4);
});

test('ActivatedSockets.open: the opener gets the fd (and a unix socket its path), the bound text names it; a failed open and a close give it back', async () => {
  const sockets = new ActivatedSockets(SOCKETS);
  const wheres: unknown[] = [];
  const opener = (fail: boolean) => async (where: { host: string; family: 4 | 6; fd?: number }) => {
    wheres.push(where);
    if (fail) throw new Error('refused');
    return { bound: { text: 'bound' }, port: 0, close: async () => {} };
  };
  const unix = listener(0, 'unix@/elsewhere?fdname=local');
  await assert.rejects(sockets.open(unix, { host: unix.host, family: 4 }, opener(true)), /^Error: refused$/);
  const opened = await sockets.open(listener(1, 'unix@/elsewhere?fdname=local'), { host: '/elsewhere', family: 4 }, opener(false));
  assert.deepEqual(opened.bound, { text: 'bound', activated: { fd: 6, name: 'local' } });
  await assert.rejects(sockets.open(listener(2, 'unix@/run/relay/log'), { host: '/run/relay/log', family: 4 }, opener(false)), /already used/);
  await opened.close();
  const plain = await sockets.open(listener(3, 'udp@127.0.0.1:9'), { host: '127.0.0.1', family: 4 }, opener(false));
  assert.deepEqual(plain.bound, { text: 'bound' });
  assert.deepEqual(wheres, [
    { host: '/run/relay/log', family: 4, fd: 6 },
    { host: '/run/relay/log', family: 4, fd: 6 },
    { host: '127.0.0.1', family: 4 },
  ]);
  assert.equal(
    (await sockets.open(listener(2, 'unix@/run/relay/log'), { host: '/run/relay/log', family: 4 }, opener(false))).bound.activated?.fd,
    6,
    'free again once closed',
  );
});

test('unusedSockets and passedSocketNote: what no listener took; the note a listening line gets', () => {
  const listening = [{ text: 'udp@[::]:514', activated: { fd: 3, name: 'syslog' } }, { text: 'tcp@127.0.0.1:9' }];
  assert.deepEqual(
    unusedSockets(SOCKETS, listening).map((s) => s.fd),
    [4, 5, 6],
  );
  assert.equal(passedSocketNote(listening[0]!), ' on the socket systemd passed (fd 3, "syslog")');
  assert.equal(passedSocketNote({ text: 'x', activated: { fd: 4, name: undefined } }), ' on the socket systemd passed (fd 4)');
  assert.equal(passedSocketNote(listening[1]!), '');
});

test('?fdname=NAME: on every listener kind, in the canonical text; what FileDescriptorName= cannot hold (and & or =) is refused in one line', () => {
  for (const [input, text] of [
    ['udp@0.0.0.0:514?fdname=syslog', 'udp@0.0.0.0:514?fdname=syslog'],
    ['tls@[::]:6514?fdname=tls.in&framing=octet', 'tls@[::]:6514?framing=octet&fdname=tls.in'],
    ['unix@/run/relay/log?fdname=local&split=lf', 'unix@/run/relay/log?split=lf&fdname=local'],
  ] as const) {
    const e = parseEndpoint(input, LISTENER_ADDRESS);
    assert.equal(e.text, text);
    assert.equal(parseEndpoint(text, LISTENER_ADDRESS).fdname, e.fdname);
  }
  for (const bad of ['a:b', 'a b', `${'n'.repeat(256)}`, 'é']) {
    assert.throws(
      () => parseEndpoint(`udp@0.0.0.0:514?fdname=${bad}`, LISTENER_ADDRESS),
      (e: RelayError) =>
        e.code === 'ERR_BAD_ADDRESS' &&
        e.message.endsWith(`: 1 to 255 printable ASCII characters without spaces, ":", "&" or "=", expected ?fdname=NAME`) &&
        e.message.includes(`bad fdname ${JSON.stringify(bad)}`),
    );
  }
  assert.equal(parseEndpoint(`udp@0.0.0.0:514?fdname=${'n'.repeat(255)}`, LISTENER_ADDRESS).fdname?.length, 255);
});

test('notifyMessage and notifySocketProblem: NAME=VALUE lines, a value on one line; a path or an @name, nothing else', () => {
  assert.equal(
    notifyMessage([
      ['READY', 1],
      ['MONOTONIC_USEC', 12n],
      ['STATUS', 'a\nb\r\nc'],
    ]),
    'READY=1\nMONOTONIC_USEC=12\nSTATUS=a b c',
  );
  assert.equal(notifySocketProblem('/run/systemd/notify'), undefined);
  assert.equal(notifySocketProblem('@/org/systemd/notify'), undefined);
  for (const bad of ['relative', '@', 'vsock:2:1234', `/${'x'.repeat(107)}`])
    assert.match(notifySocketProblem(bad)!, /is neither an absolute path nor an @abstract name/);
});

test('statusLine: listeners, destinations up, and received, sent and dropped (ingest, kernel, destinations, routes) since start', () => {
  const drops = <K extends string>(keys: K[], n: number): Record<K, number> => Object.fromEntries(keys.map((k) => [k, n])) as Record<K, number>;
  const snapshot = {
    listeners: [
      { receivedMessages: 10, kernelDroppedMessages: 1, droppedMessages: drops(['oversize', 'ring_full'], 1) },
      { receivedMessages: 5, kernelDroppedMessages: 0, droppedMessages: drops(['oversize'], 0) },
    ],
    destinations: [
      { up: true, sentMessages: 15, droppedMessages: drops(['overflow'], 2) },
      { up: false, sentMessages: 3, droppedMessages: drops(['overflow', 'shutdown'], 0) },
    ],
    routes: { droppedMessages: drops(['unrouted'], 4), rules: [] },
  } as unknown as Snapshot;
  assert.equal(statusLine(snapshot), '2 listeners, 2 destinations (1 up); received 15, sent 18, dropped 9');
  const one = { listeners: [snapshot.listeners[1]], destinations: [snapshot.destinations[0]] } as unknown as Snapshot;
  assert.equal(statusLine(one), '1 listener, 1 destination (1 up); received 5, sent 15, dropped 2');
});
