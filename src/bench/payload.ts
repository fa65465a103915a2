/**
 * Bench payloads: ASCII, so every framing (lf and octet included) carries them intact.
 *
 *   B<sender>:<seq>:<sendTimeNs>;xxxxxxxx…     (padded with 'x' to the requested size)
 *
 * sendTimeNs is process.hrtime.bigint() of the bench process: senders and sinks are threads of
 * that process, so a sink's arrival time minus it is the end-to-end latency through the relay.
 * Written and read byte by byte (no strings, no BigInt per message): the bench shares the CPU with
 * the relay it measures, so its own cost per message is kept small.
 */

const PAD = 0x78; // 'x'
const MIN_BYTES = 32;
const COLON = 0x3a;
const SEMICOLON = 0x3b;
const ZERO = 0x30;
/** A run of pad bytes to compare against (memcmp instead of a loop per byte). */
const PAD_RUN = Buffer.alloc(64 * 1024, PAD);

/** The smallest size a payload can have (room for the header). */
export const MIN_PAYLOAD_BYTES = MIN_BYTES;

/** Writes the decimal digits of a non-negative integer at `at`; returns the position after them. */
function writeDigits(out: Uint8Array, at: number, value: number): number {
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  for (let i = digits - 1, v = value; i >= 0; i--, v = Math.floor(v / 10)) out[at + i] = ZERO + (v % 10);
  return at + digits;
}

/** Writes one sender's payloads; the send time is set once per batch. */
export class PayloadWriter {
  private readonly prefix: Buffer;
  private time = Buffer.from(':0;', 'latin1');

  constructor(sender: number) {
    this.prefix = Buffer.from(`B${sender}:`, 'latin1');
  }

  /** The send time of the payloads written from now on. */
  setTime(sendTimeNs: bigint): void {
    this.time = Buffer.from(`:${sendTimeNs};`, 'latin1');
  }

  /** Writes payload `seq` into `out` (its length is the payload size); returns `out`. */
  write(out: Buffer, seq: number): Buffer {
    out.set(this.prefix, 0);
    let at = writeDigits(out, this.prefix.length, seq);
    out.set(this.time, at);
    at += this.time.length;
    out.fill(PAD, at);
    return out;
  }
}

/** Reads a decimal number from `at` up to `stop`; undefined if empty, not digits, or unterminated. */
function readDigits(payload: Uint8Array, at: number, stop: number, limit: number): { value: number; next: number } | undefined {
  let value = 0;
  let i = at;
  for (; i < limit && payload[i] !== stop; i++) {
    const d = payload[i]! - ZERO;
    if (d < 0 || d > 9) return undefined;
    value = value * 10 + d;
  }
  if (i === at || i === limit) return undefined;
  return { value, next: i + 1 };
}

/**
 * The fields of a payload, or undefined if it is not one of ours (a torn or foreign message).
 * sendTimeNs is a Number: exact to the nanosecond below 2^53 ns (104 days of uptime), and far
 * finer than the microseconds the bench reports beyond that.
 */
export function readPayload(payload: Uint8Array): { sender: number; seq: number; sendTimeNs: number } | undefined {
  if (payload.length < 6 || payload[0] !== 0x42 /* B */) return undefined;
  const limit = Math.min(payload.length, 64);
  const sender = readDigits(payload, 1, COLON, limit);
  const seq = sender && readDigits(payload, sender.next, COLON, limit);
  const time = seq && readDigits(payload, seq.next, SEMICOLON, limit);
  if (!sender || !seq || !time) return undefined;
  for (let at = time.next; at < payload.length; at += PAD_RUN.length) {
    const n = Math.min(PAD_RUN.length, payload.length - at);
    if (Buffer.compare(PAD_RUN.subarray(0, n), payload.subarray(at, at + n)) !== 0) return undefined;
  }
  return { sender: sender.value, seq: seq.value, sendTimeNs: time.value };
}
