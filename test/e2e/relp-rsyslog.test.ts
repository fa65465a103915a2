/**
 * The relay's RELP codec (src/relp/frame.ts) against the real server: rsyslog 8.2302's imrelp
 * (test/helpers/rsyslog.ts), driven by a bare client. A session of 1000 varied messages is answered
 * 200 each, in order, and rsyslog's file holds every payload byte for byte; rsyslog's own
 * alterations (NUL written as #000, a payload's LF kept and so splitting the line) are pinned down.
 */
import test, { after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseResponse } from '../../src/relp/frame.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { CLIENT_OPEN_OFFERS, RelpTestClient } from '../helpers/relp-client.js';
import { missingRsyslog, RSYSLOG_MISSING, type Rsyslog, startRsyslog, waitRsyslogLines } from '../helpers/rsyslog.js';

let dir: string;
let rsyslog: Rsyslog | undefined;
/** Lines of rsyslog's file written by the tests so far (they run in order). */
let linesSoFar = 0;

before(async () => {
  if (RSYSLOG_MISSING !== undefined) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'relay-rsyslog-'));
  rsyslog = await startRsyslog(dir);
});

after(async () => {
  if (rsyslog) {
    const exit = await rsyslog.stop('SIGTERM');
    assert.equal(exit.code, 0, `rsyslogd: ${exit.stderr}`);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Payload i: no LF and no NUL (rsyslog keeps one message per line only without them), otherwise anything. */
function payload(random: () => number, i: number): Buffer {
  switch (i % 8) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return Buffer.from(`<13>Nov 29 12:00:00 host tag[42]: classic message ${i}`);
    case 2:
      return Buffer.from(`<165>1 2026-11-29T12:00:00.000Z host app 42 ID47 [x@1 a="b"] rfc5424 ${i}`);
    case 3:
      return Buffer.from(`no syslog header at all, ${i}\twith a TAB\tor two `);
    case 4:
      // Bytes >= 0x80 that are not UTF-8.
      return Buffer.concat([Buffer.from(`high ${i} `), Buffer.from([0x80, 0xa0, 0xe9, 0xff, 0xfe, 0xc3])]);
    case 5:
      return Buffer.from(`ünïcödé ✓ ${i}`);
    case 6: {
      // Random bytes, but for LF and NUL, of up to 2000 bytes.
      const bytes = Buffer.alloc(randomInt(random, 1, 2000));
      for (let b = 0; b < bytes.length; b++) {
        const byte = randomInt(random, 1, 255);
        bytes[b] = byte === 0x0a ? 0x20 : byte;
      }
      return bytes;
    }
    default:
      return Buffer.from(`  leading spaces, control \x01\x1b[0m\x7f chars ${i}`);
  }
}

async function expectRsp(client: RelpTestClient, txnr: number, data: string): Promise<void> {
  const frame = await client.next();
  assert.deepEqual({ txnr: frame.txnr, command: frame.command, data: frame.data.toString('latin1') }, { txnr, command: 'rsp', data });
}

/** open (answered 200 with imrelp's offers), the payloads (each answered 200, in order), close (rsp 0, serverclose, closed). */
async function session(payloads: Buffer[]): Promise<void> {
  const client = await RelpTestClient.connect(rsyslog!.port);
  try {
    client.send(1, 'open', CLIENT_OPEN_OFFERS);
    const open = await client.next();
    assert.equal(open.txnr, 1);
    assert.equal(open.command, 'rsp');
    const response = parseResponse(open.data);
    assert.equal(response.code, 200, open.data.toString());
    assert.equal(response.text, 'OK');
    assert.equal(response.offers?.get('relp_version'), '0');
    assert.equal(response.offers?.get('commands'), 'syslog');
    assert.match(response.offers?.get('relp_software') ?? '', /^librelp,/);
    // All in flight at once (imrelp takes a window of them).
    for (const [i, p] of payloads.entries()) client.send(i + 2, 'syslog', p);
    for (let i = 0; i < payloads.length; i++) await expectRsp(client, i + 2, '200 OK');
    const closeTxnr = payloads.length + 2;
    client.send(closeTxnr, 'close');
    await expectRsp(client, closeTxnr, '');
    const last = await client.next();
    assert.deepEqual({ txnr: last.txnr, command: last.command, length: last.data.length }, { txnr: 0, command: 'serverclose', length: 0 });
    await client.closed();
  } finally {
    client.destroy();
  }
}

/** The file's lines from the ones this test wrote on, once there are `count` of them (and no more). */
async function newLines(count: number): Promise<Buffer[]> {
  const lines = await waitRsyslogLines(rsyslog!.file, linesSoFar + count);
  assert.equal(lines.length, linesSoFar + count, 'no more lines than messages');
  const mine = lines.slice(linesSoFar);
  linesSoFar += count;
  return mine;
}

test('relp rsyslog: 1000 varied messages, each answered 200, each in the file byte for byte (an empty one as an empty line)', async (t: TestContext) => {
  if (missingRsyslog(t)) return;
  const random = mulberry32(1018);
  const payloads = Array.from({ length: 1000 }, (_, i) => payload(random, i));
  await session(payloads);
  const lines = await newLines(payloads.length);
  for (const [i, p] of payloads.entries()) assert.deepEqual(lines[i], p, `message ${i}: ${JSON.stringify(p.toString('latin1'))}`);
});

test('relp rsyslog: what rsyslog alters — a NUL is written #000, a payload LF is kept (two lines), and the next message is whole', async (t: TestContext) => {
  if (missingRsyslog(t)) return;
  await session([Buffer.from('a\0b'), Buffer.from('trailing LF\n'), Buffer.from('inner\nLF'), Buffer.from('after')]);
  const lines = (await newLines(6)).map((l) => l.toString('latin1'));
  assert.deepEqual(lines, ['a#000b', 'trailing LF', '', 'inner', 'LF', 'after']);
});
