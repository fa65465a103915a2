/**
 * The four wire framings (README "Framings"): the only code that knows their bytes.
 * Pure: no I/O. Egress calls `verdict` / `frameLength` / `encodeInto` once per message per
 * destination in its hot loop, so those three allocate nothing and throw only on caller bugs
 * (a 'skip' payload, a target too small). Decoding a framed stream lives in decoder.ts.
 *
 * | name      | frame of payload P                         | cannot carry            |
 * |-----------|--------------------------------------------|-------------------------|
 * | `len32le` | u32 little-endian length of P, then P      | —                       |
 * | `len32be` | u32 big-endian length of P, then P         | —                       |
 * | `lf`      | P, then '\n' unless P already ends in '\n' | a '\n' before P's end   |
 * | `octet`   | ASCII decimal length, SP, P (RFC 6587)     | an empty P              |
 */
import { RelayError } from '../errors.js';

export type FramingName = 'len32le' | 'len32be' | 'lf' | 'octet';

/** Every framing name, in the order the README lists them (help texts and error messages use it). */
export const FRAMING_NAMES: readonly FramingName[] = Object.freeze(['len32le', 'len32be', 'lf', 'octet'] as const);

/** Narrows user input (a `?framing=` query, `--framing`) to a framing name. */
export function isFramingName(s: string): s is FramingName {
  // includes(), not `s in table`: 'toString' and friends must not pass.
  return (FRAMING_NAMES as readonly string[]).includes(s);
}

/**
 * What a framing does with one payload: 'ok' carried intact; 'skip' cannot be carried (octet +
 * empty payload) – caller skips and counts it; 'split' carried as-is but the receiver will split it
 * (lf + payload with a '\n' anywhere except as its last byte) – caller counts it.
 */
export type CarryVerdict = 'ok' | 'skip' | 'split';

export interface Framing {
  readonly name: FramingName;
  /** How this framing carries `payload`; call before frameLength/encodeInto. */
  verdict(payload: Uint8Array): CarryVerdict;
  /** bytes the frame of `payload` occupies on the wire (payload must not be 'skip'). */
  frameLength(payload: Uint8Array): number;
  /** writes the whole frame at target[offset..], returns bytes written (== frameLength). */
  encodeInto(payload: Uint8Array, target: Uint8Array, offset: number): number;
}

/** Bytes of the length prefix of `len32le` / `len32be`. */
export const LEN32_HEADER_BYTES = 4;
const LF = 0x0a;
const SP = 0x20;
const DIGIT_0 = 0x30;

/** Caller bug, not bad input: a silent short write would corrupt the stream, so fail loudly. */
function checkRoom(framing: FramingName, target: Uint8Array, offset: number, frameBytes: number): void {
  if (offset < 0 || offset + frameBytes > target.length) {
    throw new RangeError(`${framing} frame of ${frameBytes} bytes does not fit at offset ${offset} of a ${target.length}-byte target`);
  }
}

function emptyOctetError(): RelayError {
  return new RelayError(
    'ERR_FRAMING',
    'octet framing cannot carry an empty payload: RFC 6587 octet-counting lengths are nonzero (expected verdict() to be checked first)',
  );
}

/** Digits of a positive integer in decimal, by comparison so the hot path makes no string. */
export function decimalDigits(n: number): number {
  let digits = 1;
  for (let limit = 10; n >= limit; limit *= 10) digits++;
  return digits;
}

class Len32Framing implements Framing {
  readonly name: 'len32le' | 'len32be';
  readonly #littleEndian: boolean;

  constructor(name: 'len32le' | 'len32be') {
    this.name = name;
    this.#littleEndian = name === 'len32le';
  }

  verdict(): CarryVerdict {
    // A u32 states any length a datagram can have (≤ 65535), the empty one included.
    return 'ok';
  }

  frameLength(payload: Uint8Array): number {
    return LEN32_HEADER_BYTES + payload.length;
  }

  encodeInto(payload: Uint8Array, target: Uint8Array, offset: number): number {
    const n = payload.length;
    const total = LEN32_HEADER_BYTES + n;
    checkRoom(this.name, target, offset, total);
    // Byte by byte: `target` may be a plain Uint8Array (no writeUInt32LE) at any alignment.
    if (this.#littleEndian) {
      target[offset] = n & 0xff;
      target[offset + 1] = (n >>> 8) & 0xff;
      target[offset + 2] = (n >>> 16) & 0xff;
      target[offset + 3] = n >>> 24;
    } else {
      target[offset] = n >>> 24;
      target[offset + 1] = (n >>> 16) & 0xff;
      target[offset + 2] = (n >>> 8) & 0xff;
      target[offset + 3] = n & 0xff;
    }
    target.set(payload, offset + LEN32_HEADER_BYTES);
    return total;
  }
}

function endsWithLf(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[payload.length - 1] === LF;
}

class LfFraming implements Framing {
  readonly name = 'lf' as const;

  verdict(payload: Uint8Array): CarryVerdict {
    // A trailing '\n' doubles as the terminator; any earlier one ends the line early.
    const nl = payload.indexOf(LF);
    return nl === -1 || nl === payload.length - 1 ? 'ok' : 'split';
  }

  frameLength(payload: Uint8Array): number {
    return endsWithLf(payload) ? payload.length : payload.length + 1;
  }

  encodeInto(payload: Uint8Array, target: Uint8Array, offset: number): number {
    const n = payload.length;
    const addLf = !endsWithLf(payload);
    const total = addLf ? n + 1 : n;
    checkRoom(this.name, target, offset, total);
    target.set(payload, offset);
    if (addLf) target[offset + n] = LF;
    return total;
  }
}

class OctetFraming implements Framing {
  readonly name = 'octet' as const;

  verdict(payload: Uint8Array): CarryVerdict {
    return payload.length === 0 ? 'skip' : 'ok';
  }

  frameLength(payload: Uint8Array): number {
    const n = payload.length;
    if (n === 0) throw emptyOctetError();
    return decimalDigits(n) + 1 + n;
  }

  encodeInto(payload: Uint8Array, target: Uint8Array, offset: number): number {
    const n = payload.length;
    if (n === 0) throw emptyOctetError();
    const digits = decimalDigits(n);
    const total = digits + 1 + n;
    checkRoom(this.name, target, offset, total);
    // Digits least significant first, from the right, so no string is built.
    let rest = n;
    for (let i = offset + digits - 1; i >= offset; i--) {
      target[i] = DIGIT_0 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    target[offset + digits] = SP;
    target.set(payload, offset + digits + 1);
    return total;
  }
}

const FRAMINGS: ReadonlyMap<FramingName, Framing> = new Map<FramingName, Framing>([
  ['len32le', new Len32Framing('len32le')],
  ['len32be', new Len32Framing('len32be')],
  ['lf', new LfFraming()],
  ['octet', new OctetFraming()],
]);

/** The framing singleton for `name`; resolve once per destination, not per message. */
export function framingFor(name: FramingName): Framing {
  const framing = FRAMINGS.get(name);
  if (framing === undefined) {
    // Reachable only from untyped callers; the type already rules it out.
    throw new RelayError('ERR_BAD_OPTION', `unknown framing "${String(name)}", expected ${FRAMING_NAMES.join('|')}`);
  }
  return framing;
}

/** One frame as a fresh Buffer, for cold paths and tests; throws RelayError('ERR_FRAMING') for a 'skip' payload. */
export function encode(name: FramingName, payload: Uint8Array): Buffer {
  const framing = framingFor(name);
  if (framing.verdict(payload) === 'skip') throw emptyOctetError();
  const frame = Buffer.allocUnsafe(framing.frameLength(payload));
  framing.encodeInto(payload, frame, 0);
  return frame;
}

/** A batch of payloads encoded back to back, and what the framing could not carry intact. */
export interface EncodedBatch {
  chunk: Buffer;
  /** Payloads in `chunk`. */
  messages: number;
  /** Payloads left out: the framing cannot carry them (empty on `octet`). */
  skipped: number;
  /** Payloads carried that the receiver will split (a newline on `lf`). */
  split: number;
}

/** Encodes `payloads` in one buffer (one write), leaving out what `framing` cannot carry. */
export function encodeBatch(framing: Framing, payloads: readonly Uint8Array[]): EncodedBatch {
  let total = 0;
  let skipped = 0;
  let split = 0;
  for (const p of payloads) {
    const verdict = framing.verdict(p);
    if (verdict === 'skip') skipped++;
    else {
      if (verdict === 'split') split++;
      total += framing.frameLength(p);
    }
  }
  const chunk = Buffer.allocUnsafe(total);
  let written = 0;
  for (const p of payloads) if (framing.verdict(p) !== 'skip') written += framing.encodeInto(p, chunk, written);
  return { chunk, messages: payloads.length - skipped, skipped, split };
}
