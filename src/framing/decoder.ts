/**
 * Streaming decoder for a framed TCP byte stream: the `tcp@` listener and `relay sink` feed it
 * whatever chunks the socket delivers, and it returns whole messages.
 *
 * Memory contract, so callers know what they may reuse:
 * - A message that lies wholly inside one pushed chunk is returned as a view of that chunk (no
 *   copy); one torn across chunks is assembled in a buffer of its own, allocated once.
 * - push() keeps no reference to `chunk` after it returns: a torn tail is copied. A caller that
 *   reuses its read buffer (net's `onread`) must therefore copy only the returned messages.
 * Cost is O(bytes pushed): no re-concatenation of pending data per chunk.
 *
 * Garbage is not recoverable (after a bad length nothing tells where the next frame starts), so
 * push() throws RelayError('ERR_FRAMING') and the decoder stays failed. Messages completed earlier
 * in the same chunk are not returned: the peer is not speaking this framing, so they are suspect.
 */
import { RelayError } from '../errors.js';
import { FRAMING_NAMES, LEN32_HEADER_BYTES, decimalDigits, isFramingName, type FramingName } from './framing.js';

const LF = 0x0a;
const SP = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Set in #bodyLength while the length prefix is still being read. */
const READING_HEADER = -1;

/** `'x' (0x78)` for printable ASCII, `0x0a` otherwise: error text must stay one readable line. */
function describeByte(b: number): string {
  const hex = `0x${b.toString(16).padStart(2, '0')}`;
  return b > 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}' (${hex})` : hex;
}

export class FrameDecoder {
  readonly #name: FramingName;
  readonly #maxMessageBytes: number;
  /** octet: a length with more digits than this exceeds maxMessageBytes whatever the digits. */
  readonly #maxDigits: number;
  #failed = false;
  /** Stream bytes before the current chunk, so errors can say where the garbage is. */
  #streamOffset = 0;

  // len32* and octet: header, then body.
  /** Bytes of the current length prefix seen so far (len32*: 0..3; octet: digits). */
  #headerBytes = 0;
  /** The length accumulated from those bytes. */
  #headerValue = 0;
  /** Bytes the finished prefix took (len32*: 4; octet: digits + SP), for pendingBytes. */
  #headerLength = 0;
  #bodyLength = READING_HEADER;
  /** Assembly buffer of a body torn across chunks; null while the body may still be a view. */
  #body: Buffer | null = null;
  #bodyFilled = 0;

  // lf: copies of the torn line's pieces, concatenated once when its '\n' arrives.
  #linePieces: Buffer[] = [];
  #lineBytes = 0;

  /** A decoder for one stream; maxMessageBytes bounds what a peer can make it buffer. */
  constructor(name: FramingName, maxMessageBytes: number) {
    if (!isFramingName(name)) {
      throw new RelayError('ERR_BAD_OPTION', `unknown framing "${String(name)}", expected ${FRAMING_NAMES.join('|')}`);
    }
    if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 1) {
      throw new RelayError('ERR_BAD_OPTION', `maxMessageBytes must be a positive integer, got ${String(maxMessageBytes)}`);
    }
    this.#name = name;
    this.#maxMessageBytes = maxMessageBytes;
    this.#maxDigits = decimalDigits(maxMessageBytes);
  }

  /** bytes of an incomplete trailing frame currently held (0 when the stream ended on a frame boundary) */
  get pendingBytes(): number {
    if (this.#name === 'lf') return this.#lineBytes;
    return this.#bodyLength === READING_HEADER ? this.#headerBytes : this.#headerLength + this.#bodyFilled;
  }

  /** Feeds bytes; returns the messages they complete, in order; throws RelayError('ERR_FRAMING') on garbage. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.#failed) {
      throw new RelayError('ERR_FRAMING', `${this.#name} decoder already failed on earlier garbage; expected a new decoder per stream`);
    }
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const messages: Buffer[] = [];
    try {
      if (this.#name === 'lf') this.#pushLines(buf, messages);
      else this.#pushCounted(buf, messages);
    } catch (err) {
      this.#failed = true;
      throw err;
    }
    this.#streamOffset += buf.length;
    return messages;
  }

  #fail(pos: number, problem: string): never {
    throw new RelayError('ERR_FRAMING', `${this.#name} framing at stream byte ${this.#streamOffset + pos}: ${problem}`);
  }

  #pushLines(buf: Buffer, messages: Buffer[]): void {
    const max = this.#maxMessageBytes;
    let pos = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(LF, pos);
      if (nl === -1) {
        const rest = buf.length - pos;
        // Fail before buffering: a peer that never sends '\n' must not grow memory unboundedly.
        if (this.#lineBytes + rest > max) this.#lineTooLong(pos);
        this.#linePieces.push(Buffer.from(buf.subarray(pos))); // a copy: the caller may reuse buf
        this.#lineBytes += rest;
        return;
      }
      const lineBytes = this.#lineBytes + (nl - pos);
      if (lineBytes > max) this.#lineTooLong(pos);
      if (this.#lineBytes === 0) {
        messages.push(buf.subarray(pos, nl));
      } else {
        this.#linePieces.push(buf.subarray(pos, nl));
        messages.push(Buffer.concat(this.#linePieces, lineBytes));
        this.#linePieces = [];
        this.#lineBytes = 0;
      }
      pos = nl + 1;
    }
  }

  /** Points at the first byte past the limit, so the offset is the same however the stream was chunked. */
  #lineTooLong(partStart: number): never {
    const max = this.#maxMessageBytes;
    this.#fail(
      partStart + max - this.#lineBytes, // partStart: where this chunk's part of the line begins
      `line longer than maxMessageBytes ${max} (expected at most ${max} bytes, then '\\n')`,
    );
  }

  #pushCounted(buf: Buffer, messages: Buffer[]): void {
    const end = buf.length;
    let pos = 0;
    while (pos < end) {
      if (this.#bodyLength === READING_HEADER) {
        pos = this.#name === 'octet' ? this.#readOctetHeader(buf, pos) : this.#readLen32Header(buf, pos);
        if (this.#bodyLength === READING_HEADER) return; // the prefix continues in the next chunk
      }
      // A zero-length body completes right here, even when the prefix ended the chunk.
      const need = this.#bodyLength - this.#bodyFilled;
      if (this.#body === null) {
        if (end - pos >= need) {
          messages.push(buf.subarray(pos, pos + need));
          pos += need;
          this.#startHeader();
          continue;
        }
        // Allocated once at full size (≤ maxMessageBytes) so later chunks copy in, never concat.
        this.#body = Buffer.allocUnsafe(this.#bodyLength);
      }
      const take = Math.min(need, end - pos);
      buf.copy(this.#body, this.#bodyFilled, pos, pos + take);
      this.#bodyFilled += take;
      pos += take;
      if (this.#bodyFilled === this.#bodyLength) {
        messages.push(this.#body);
        this.#startHeader();
      }
    }
  }

  #startHeader(): void {
    this.#bodyLength = READING_HEADER;
    this.#body = null;
    this.#bodyFilled = 0;
    this.#headerBytes = 0;
    this.#headerValue = 0;
  }

  #startBody(length: number, headerLength: number): void {
    this.#bodyLength = length;
    this.#headerLength = headerLength;
  }

  /** Returns the position after the prefix bytes consumed; starts the body once all 4 are in. */
  #readLen32Header(buf: Buffer, pos: number): number {
    const littleEndian = this.#name === 'len32le';
    let length: number;
    if (this.#headerBytes === 0 && buf.length - pos >= LEN32_HEADER_BYTES) {
      length = littleEndian ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
      pos += LEN32_HEADER_BYTES;
    } else {
      // Torn prefix: accumulate byte by byte (multiplication, not <<, keeps it unsigned).
      while (this.#headerBytes < LEN32_HEADER_BYTES && pos < buf.length) {
        const b = buf[pos++]!;
        this.#headerValue = littleEndian ? this.#headerValue + b * 2 ** (8 * this.#headerBytes) : this.#headerValue * 256 + b;
        this.#headerBytes++;
      }
      if (this.#headerBytes < LEN32_HEADER_BYTES) return pos;
      length = this.#headerValue;
    }
    if (length > this.#maxMessageBytes) {
      const order = littleEndian ? 'little' : 'big';
      this.#fail(
        pos - LEN32_HEADER_BYTES,
        `frame length ${length} (0x${length.toString(16).padStart(8, '0')}) exceeds maxMessageBytes ${this.#maxMessageBytes} ` +
          `(expected a u32 ${order}-endian length ≤ ${this.#maxMessageBytes}; is the peer using another framing?)`,
      );
    }
    this.#startBody(length, LEN32_HEADER_BYTES);
    return pos;
  }

  /** Returns the position after the prefix bytes consumed; starts the body at the SP. */
  #readOctetHeader(buf: Buffer, pos: number): number {
    const max = this.#maxMessageBytes;
    const expected = `expected a nonzero decimal length without leading zeros, then SP (RFC 6587 octet counting)`;
    while (pos < buf.length) {
      const b = buf[pos]!;
      if (b >= DIGIT_0 && b <= DIGIT_9) {
        // headerValue 0 after a digit means that digit was '0': "0 " and "012 " both land here or at SP.
        if (this.#headerBytes > 0 && this.#headerValue === 0) this.#fail(pos, `length has a leading zero (${expected})`);
        if (this.#headerBytes === this.#maxDigits) {
          this.#fail(pos, `length has more than ${this.#maxDigits} digits, so it exceeds maxMessageBytes ${max} (${expected})`);
        }
        this.#headerValue = this.#headerValue * 10 + (b - DIGIT_0);
        this.#headerBytes++;
        pos++;
        continue;
      }
      if (b === SP) {
        if (this.#headerBytes === 0) this.#fail(pos, `SP with no length before it (${expected})`);
        if (this.#headerValue === 0) this.#fail(pos, `length is 0 (${expected})`);
        if (this.#headerValue > max) {
          this.#fail(pos, `frame length ${this.#headerValue} exceeds maxMessageBytes ${max} (expected a length of 1..${max})`);
        }
        this.#startBody(this.#headerValue, this.#headerBytes + 1);
        return pos + 1;
      }
      this.#fail(pos, `unexpected byte ${describeByte(b)} in the length (${expected})`);
    }
    return pos;
  }
}
