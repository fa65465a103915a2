/**
 * A RELP receiver for end-to-end fault tests, on the relay's own codec (src/relp/frame.ts): it
 * answers `open` (offering `commands=syslog`, or what the test says), then each `syslog` command
 * as the test's verdict says — including the surprises real peers produce: the last answers and
 * `serverclose` in one segment (imrelp when rsyslog stops), two answers out of order then a FIN.
 */
import { once } from 'node:events';
import net from 'node:net';
import { encodeFrame, FrameParser, formatOffers } from '../../src/relp/frame.js';

/** The test messages: numbered, in a classic syslog line. */
export const message = (i: number): string => `<13>Nov 29 12:00:00 host app: message ${i}`;
export const numberOf = (payload: Buffer | string): number => Number(/message (\d+)$/.exec(payload.toString())?.[1]);

/**
 * How a connection of the test receiver treats a command: answer it 200 or 500; cut the connection
 * before answering it; withhold its answer; answer it 200 with the next command's answer (`later`);
 * answer it, then `serverclose` in the same write and a FIN (`serverclose`); answer the next
 * command first, then this one, then a FIN (`swap`).
 */
export type Verdict = 'ok' | 'refuse' | 'cut' | 'withhold' | 'later' | 'serverclose' | 'swap';

const OFFERS_SYSLOG = formatOffers([
  ['relp_version', '0'],
  ['commands', 'syslog'],
]);

/**
 * A RELP receiver for faults: answers `open` with `offers` (default relp_version=0, commands=syslog),
 * then each `syslog` as `verdict` says (per connection index and the command's number on that
 * connection). Records every payload it received, and which it answered 200 (in the order sent).
 */
export async function faultyReceiver(verdict: (connection: number, command: number, payload: Buffer) => Verdict, offers = OFFERS_SYSLOG) {
  const received: number[] = [];
  const answered: number[] = [];
  /** `close` commands received (a graceful end of a session). */
  let closes = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const connection = connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const parser = new FrameParser(1 << 20);
    let commands = 0;
    /** A `swap` answer held back until the next command's answer went first. */
    let held: { frame: Buffer; number: number } | undefined;
    /** `later` answers, sent before the next answer (in one write with it). */
    const deferred: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      if (socket.writableEnded) return;
      parser.push(chunk);
      const out: Buffer[] = [];
      const ok = (txnr: number, payload: Buffer): Buffer => {
        answered.push(numberOf(payload));
        return encodeFrame(txnr, 'rsp', Buffer.from('200 OK'));
      };
      for (let f = parser.next(); f; f = parser.next()) {
        if (f.command === 'open') out.push(encodeFrame(f.txnr, 'rsp', Buffer.from(`200 OK\n${offers}`)));
        else if (f.command === 'close') {
          closes++;
          out.push(encodeFrame(f.txnr, 'rsp'), encodeFrame(0, 'serverclose'));
        } else if (f.command === 'syslog') {
          received.push(numberOf(f.data));
          if (held) {
            out.push(ok(f.txnr, f.data), held.frame);
            answered.push(held.number);
            socket.end(Buffer.concat(out));
            return;
          }
          const v = verdict(connection, commands++, f.data);
          if (v === 'cut') {
            // The answers so far reach the relay, then the connection ends: what they did not answer is owed.
            socket.end(Buffer.concat(out));
            return;
          }
          if (v === 'serverclose') {
            out.push(...deferred.splice(0), ok(f.txnr, f.data), encodeFrame(0, 'serverclose'));
            socket.end(Buffer.concat(out));
            return;
          }
          if (v === 'swap') {
            held = { frame: encodeFrame(f.txnr, 'rsp', Buffer.from('200 OK')), number: numberOf(f.data) };
            continue;
          }
          if (v === 'withhold') continue;
          if (v === 'later') {
            deferred.push(ok(f.txnr, f.data));
            continue;
          }
          out.push(...deferred.splice(0));
          out.push(v === 'ok' ? ok(f.txnr, f.data) : encodeFrame(f.txnr, 'rsp', Buffer.from('500 not today')));
        }
      }
      if (out.length > 0) socket.write(Buffer.concat(out));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    address: `relp@127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    received,
    answered,
    connections: () => connections,
    closes: () => closes,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
