/**
 * `relay sink relp@127.0.0.1:0` through bin/relay, with a bare RELP client (test/helpers/relp-client.ts):
 * a session (open, messages, close) is answered as rsyslog's imrelp answers it and every payload is
 * printed; each way of breaking the protocol gets imrelp's answer, and the sink says why it closed.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { parseOffers, parseResponse } from '../../src/relp/frame.js';
import { CLIENT_OPEN_OFFERS, RelpTestClient } from '../helpers/relp-client.js';
import { hostPortOf, type RelayProcess, startRelay } from '../helpers/relay-process.js';

let sink: RelayProcess;
let port: number;

before(async () => {
  const started = await startRelay(['sink', 'relp@127.0.0.1:0']);
  sink = started.relay;
  port = hostPortOf(started.listeners[0]!).port;
  assert.match(sink.stderr, /listening on relp@127\.0\.0\.1:\d+ \(RELP\)/);
});

after(async () => {
  const exit = await sink.stop('SIGTERM');
  assert.equal(exit.code, 0, exit.stderr);
});

/** Runs `body` with a connected client, destroyed afterwards whatever happens. */
async function withClient(body: (client: RelpTestClient) => Promise<void>): Promise<void> {
  const client = await RelpTestClient.connect(port);
  try {
    await body(client);
  } finally {
    client.destroy();
  }
}

/** Payloads the sink prints one per line, so none holds an LF; TAB, UTF-8 beyond ASCII, no syslog header, empty. */
function payloads(count: number): string[] {
  const kinds = (i: number): string => ['', `<13>Nov 29 12:00:00 host tag: message ${i}`, `tab\there ${i}`, `ünïcode ${i} ✓`, `x`.repeat(i % 3000)][i % 5]!;
  return Array.from({ length: count }, (_, i) => kinds(i));
}

async function expectRsp(client: RelpTestClient, txnr: number, data: string): Promise<void> {
  const frame = await client.next();
  assert.deepEqual({ txnr: frame.txnr, command: frame.command, data: frame.data.toString('utf8') }, { txnr, command: 'rsp', data });
}

async function expectServerClose(client: RelpTestClient): Promise<void> {
  const frame = await client.next();
  assert.deepEqual({ txnr: frame.txnr, command: frame.command, length: frame.data.length }, { txnr: 0, command: 'serverclose', length: 0 });
  await client.closed();
}

test('relp sink: open, 500 messages each answered 200 in order, close answered rsp 0 and serverclose; every payload printed', async () => {
  const sent = payloads(500);
  const printedBefore = sink.stdout.length;
  await withClient(async (client) => {
    client.send(1, 'open', CLIENT_OPEN_OFFERS);
    const open = await client.next();
    assert.equal(open.txnr, 1);
    assert.equal(open.command, 'rsp');
    const response = parseResponse(open.data);
    assert.equal(response.code, 200);
    assert.equal(response.text, 'OK');
    assert.deepEqual(response.offers, parseOffers('relp_version=0\nrelp_software=relay\ncommands=syslog'));
    // All in flight at once, as a RELP client with a window does.
    for (const [i, payload] of sent.entries()) client.send(i + 2, 'syslog', Buffer.from(payload));
    for (let i = 0; i < sent.length; i++) await expectRsp(client, i + 2, '200 OK');
    client.send(sent.length + 2, 'close');
    await expectRsp(client, sent.length + 2, '');
    await expectServerClose(client);
  });
  const expected = sent.map((p) => `${p}\n`).join('');
  await sink.waitForStdout(new RegExp(`[\\s\\S]{${printedBefore + expected.length}}`));
  assert.equal(sink.stdout.slice(printedBefore), expected);
});

/** Ways to break the session: what the client sends, what it gets back before serverclose, and the sink's reason (none: closed quietly). */
const BROKEN: { name: string; frames: [number, string, string][]; raw?: string; answers: [number, string][]; reason?: RegExp; printed: string }[] = [
  {
    name: 'a TXNR gap',
    frames: [
      [1, 'open', CLIENT_OPEN_OFFERS],
      [2, 'syslog', 'before the gap'],
      [4, 'syslog', 'after the gap'],
    ],
    answers: [
      [1, '200 OK\nrelp_version=0\nrelp_software=relay\ncommands=syslog'],
      [2, '200 OK'],
    ],
    reason: /RELP: TXNR 4, expected 3/,
    printed: 'before the gap\n',
  },
  { name: 'an open not numbered 1', frames: [[2, 'open', CLIENT_OPEN_OFFERS]], answers: [], reason: /RELP: TXNR 2, expected 1/, printed: '' },
  {
    name: 'an open without commands=syslog',
    frames: [[1, 'open', 'relp_version=0\nrelp_software=relay-test']],
    answers: [[1, '500 required command not supported by client']],
    reason: /RELP: open without commands=syslog/,
    printed: '',
  },
  {
    name: 'an unknown command',
    frames: [
      [1, 'open', CLIENT_OPEN_OFFERS],
      [2, 'bogus', 'x'],
    ],
    answers: [[1, '200 OK\nrelp_version=0\nrelp_software=relay\ncommands=syslog']],
    reason: /RELP: unknown command "bogus"/,
    printed: '',
  },
  {
    name: 'a malformed frame',
    frames: [[1, 'open', CLIENT_OPEN_OFFERS]],
    raw: '2 syslog 3 abcX',
    answers: [[1, '200 OK\nrelp_version=0\nrelp_software=relay\ncommands=syslog']],
    reason: /RELP: frame 2 syslog: missing trailer, expected LF after 3 data bytes, got 'X'/,
    printed: '',
  },
  {
    name: 'a syslog before open (refused, the session goes on), then close',
    frames: [
      [1, 'syslog', 'too early'],
      [2, 'close', ''],
    ],
    answers: [
      [1, '500 command disabled'],
      [2, ''],
    ],
    printed: '',
  },
];

for (const c of BROKEN) {
  test(`relp sink: ${c.name}`, async () => {
    const printedBefore = sink.stdout.length;
    const stderrBefore = sink.stderr.length;
    await withClient(async (client) => {
      for (const [txnr, command, data] of c.frames) client.send(txnr, command, data);
      if (c.raw !== undefined) client.sendRaw(c.raw);
      for (const [txnr, data] of c.answers) await expectRsp(client, txnr, data);
      await expectServerClose(client);
    });
    if (c.reason) {
      const line = await sink.waitForStderr(new RegExp(`relay sink: closing 127\\.0\\.0\\.1:\\d+: ${c.reason.source}\\n`));
      assert.equal(line.index! >= stderrBefore, true);
    }
    // The 200s came after the prints, so the sink's output is complete here (a pipe keeps order).
    await sink.waitForStdout(new RegExp(`[\\s\\S]{${printedBefore + c.printed.length}}`));
    assert.equal(sink.stdout.slice(printedBefore), c.printed);
  });
}
