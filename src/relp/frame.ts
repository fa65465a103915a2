/**
 * RELP frames (librelp's doc/relp.md, as rsyslog's imrelp/omrelp speak it), pure encode/decode, no I/O:
 *
 *   TXNR SP COMMAND SP DATALEN [SP DATA] LF
 *
 * TXNR is 1 to 9 digits (0 only on `serverclose`), COMMAND 1 to 32 ASCII letters, DATALEN 1 to 9
 * digits; with DATALEN 0 the LF follows DATALEN directly (librelp treats `0 SP LF` as an error).
 * The data of an `rsp` is `CODE SP TEXT` (200 OK, 500 reason), for `open` followed by LF and the
 * offers (`relp_version=0`, `commands=syslog`…), one `name[=value]` per line.
 */
import { RelayError } from '../errors.js';

/** One decoded frame; `data` is empty when DATALEN was 0. */
export interface RelpFrame {
  txnr: number;
  command: string;
  data: Buffer;
}

/** The largest TXNR (9 digits); librelp's senders wrap from it to 1. */
export const MAX_TXNR = 999_999_999;
/**
 * How long a server lets a frame take from its first byte to its trailer, by default. A sender
 * (omrelp, the relay's relp@) writes each frame whole, so a frame normally completes within a
 * round trip or two; 30 s still lets the largest default frame (16 MiB) arrive at 4.5 Mbit/s,
 * while a peer that starts frames and stalls holds their memory for at most that long. Here, not
 * in server.ts, so that `relay sink --help` shows it without loading the server at every start.
 */
export const FRAME_TIMEOUT_MS = 30_000;
const MAX_DIGITS = 9;
const MAX_COMMAND_LENGTH = 32;
const SP = 0x20;
const LF = 0x0a;

/** `TXNR SP COMMAND SP DATALEN [SP DATA] LF` for `data` (none or empty: `DATALEN` 0, no SP); throws RelayError('ERR_RELP') on a bad TXNR or command. */
export function encodeFrame(txnr: number, command: string, data?: Uint8Array): Buffer {
  if (!Number.isInteger(txnr) || txnr < 0 || txnr > MAX_TXNR) throw relpError(`cannot encode TXNR ${txnr}, expected an integer 0..${MAX_TXNR}`);
  if (!/^[A-Za-z]{1,32}$/.test(command)) throw relpError(`cannot encode command ${JSON.stringify(command)}, expected 1 to 32 ASCII letters`);
  const length = data?.length ?? 0;
  const header = length === 0 ? `${txnr} ${command} 0\n` : `${txnr} ${command} ${length} `;
  if (length === 0) return Buffer.from(header, 'latin1');
  const frame = Buffer.allocUnsafe(header.length + length + 1);
  frame.write(header, 0, 'latin1');
  frame.set(data!, header.length);
  frame[frame.length - 1] = LF;
  return frame;
}

/**
 * `syslog` frames for `payloads`, TXNRs from `firstTxnr` on (wrapping from MAX_TXNR to 1), in one
 * buffer: a window's worth of commands is one allocation and one socket write.
 */
export function encodeSyslogFrames(firstTxnr: number, payloads: readonly Uint8Array[]): Buffer {
  const headers: string[] = [];
  let bytes = 0;
  let txnr = firstTxnr;
  for (const p of payloads) {
    const header = p.length === 0 ? `${txnr} syslog 0` : `${txnr} syslog ${p.length} `;
    headers.push(header);
    bytes += header.length + p.length + 1;
    txnr = nextTxnr(txnr);
  }
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const [i, p] of payloads.entries()) {
    at += out.write(headers[i]!, at, 'latin1');
    out.set(p, at);
    at += p.length;
    out[at++] = LF;
  }
  return out;
}

/** The TXNR after `txnr`: librelp's senders wrap from MAX_TXNR to 1. */
export function nextTxnr(txnr: number): number {
  return txnr === MAX_TXNR ? 1 : txnr + 1;
}

enum State {
  Txnr,
  Command,
  DataLen,
  Data,
  Trailer,
}

/**
 * Incremental frame parser for one connection: push() each chunk as it arrives, then call next()
 * until it returns undefined. Header bytes are read straight from the chunks into a few numbers
 * and the command's letters; a frame's data is a view of the chunk when the data and its trailer
 * lie in one, else DATALEN bytes allocated once when the data starts and filled as chunks arrive.
 * A chunk is dropped as soon as it is parsed, so once next() has returned undefined the parser
 * holds no chunk: a frame trickled one byte per read costs DATALEN plus a constant, not a chunk
 * (and its objects) per byte. On a malformed frame next() throws a RelayError('ERR_RELP') with a
 * one-line reason, and keeps throwing it: the connection is done.
 */
export class FrameParser {
  /** Chunks pushed and not yet parsed (empty once next() returned undefined). */
  private chunks: Buffer[] = [];
  /** Read position in chunks[0]. */
  private offset = 0;
  private state = State.Txnr;
  private digits = 0;
  private txnr = 0;
  private readonly command = Buffer.alloc(MAX_COMMAND_LENGTH);
  private commandLength = 0;
  private dataLength = 0;
  /** The frame's data: a view of one chunk, or DATALEN bytes of its own being filled; undefined before the data starts. */
  private data: Buffer | undefined;
  /** Bytes of `data` filled so far. */
  private dataBytes = 0;
  private failure: RelayError | undefined;

  /** `maxDataBytes`: the largest DATALEN accepted; a frame announcing more is malformed (bounds what a peer makes us buffer). */
  constructor(private readonly maxDataBytes: number) {}

  /** Adds bytes received (the parser keeps a reference until they are parsed: do not reuse the buffer). */
  push(chunk: Buffer): void {
    if (chunk.length > 0) this.chunks.push(chunk);
  }

  /** The next whole frame, or undefined until more bytes are pushed; throws RelayError('ERR_RELP') on a malformed frame. */
  next(): RelpFrame | undefined {
    if (this.failure) throw this.failure;
    try {
      return this.advance();
    } catch (error) {
      this.failure = error as RelayError;
      throw error;
    }
  }

  /** True when bytes of a frame not yet complete have been parsed (a server bounds how long that may last). */
  get inFrame(): boolean {
    return this.state !== State.Txnr || this.digits > 0;
  }

  /**
   * Memory the parser holds, in bytes: the whole ArrayBuffers behind the chunks not yet parsed and
   * behind the partial frame's data (a view keeps its chunk's buffer alive), each counted once.
   */
  get bufferedBytes(): number {
    const held = new Set<ArrayBufferLike>(this.chunks.map((c) => c.buffer));
    if (this.data) held.add(this.data.buffer);
    let bytes = 0;
    for (const buffer of held) bytes += buffer.byteLength;
    return bytes;
  }

  private advance(): RelpFrame | undefined {
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      if (this.state === State.Data) {
        this.fill(chunk);
        continue;
      }
      const byte = chunk[this.offset]!;
      this.consumed(1);
      if (this.state === State.Trailer) {
        if (byte !== LF)
          throw relpError(`frame ${this.txnr} ${this.commandText()}: missing trailer, expected LF after ${this.dataLength} data bytes, got ${show(byte)}`);
        return this.finish();
      }
      if (this.header(byte)) return this.finish();
    }
    return undefined;
  }

  /** Takes what `chunk` (chunks[0]) holds of the frame's data. */
  private fill(chunk: Buffer): void {
    const available = chunk.length - this.offset;
    if (this.data === undefined) {
      // Data and trailer in this chunk: a view, no copy, and the frame ends in this call.
      if (available > this.dataLength) {
        this.data = chunk.subarray(this.offset, this.offset + this.dataLength);
        this.dataBytes = this.dataLength;
        this.state = State.Trailer;
        this.consumed(this.dataLength);
        return;
      }
      // Its own ArrayBuffer (not the shared pool's slab), so the memory held is DATALEN exactly.
      this.data = Buffer.allocUnsafeSlow(this.dataLength);
    }
    const take = Math.min(this.dataLength - this.dataBytes, available);
    chunk.copy(this.data, this.dataBytes, this.offset, this.offset + take);
    this.dataBytes += take;
    if (this.dataBytes === this.dataLength) this.state = State.Trailer;
    this.consumed(take);
  }

  /** Advances past `count` bytes of chunks[0], dropping it once all of it is parsed. */
  private consumed(count: number): void {
    this.offset += count;
    if (this.offset < this.chunks[0]!.length) return;
    this.chunks.shift();
    this.offset = 0;
  }

  /** Consumes one header byte; true when it ends a frame without data (DATALEN 0). */
  private header(byte: number): boolean {
    const isDigit = byte >= 0x30 && byte <= 0x39;
    if (this.state === State.Txnr) {
      if (isDigit) {
        if (++this.digits > MAX_DIGITS) throw relpError(`TXNR longer than ${MAX_DIGITS} digits (more than ${MAX_TXNR})`);
        this.txnr = this.txnr * 10 + byte - 0x30;
      } else if (byte === SP && this.digits > 0) {
        this.state = State.Command;
      } else {
        throw relpError(`frame header: expected TXNR digits${this.digits > 0 ? ' or SP' : ''}, got ${show(byte)}`);
      }
      return false;
    }
    if (this.state === State.Command) {
      const isLetter = (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
      if (isLetter && this.commandLength < MAX_COMMAND_LENGTH) {
        this.command[this.commandLength++] = byte;
      } else if (byte === SP && this.commandLength > 0) {
        this.state = State.DataLen;
        this.digits = 0;
      } else if (isLetter) {
        throw relpError(`frame ${this.txnr}: command longer than ${MAX_COMMAND_LENGTH} letters`);
      } else {
        throw relpError(`frame ${this.txnr}: expected command letters${this.commandLength > 0 ? ' or SP' : ''}, got ${show(byte)}`);
      }
      return false;
    }
    // State.DataLen
    if (isDigit) {
      if (++this.digits > MAX_DIGITS) throw relpError(`frame ${this.txnr} ${this.commandText()}: DATALEN longer than ${MAX_DIGITS} digits`);
      this.dataLength = this.dataLength * 10 + byte - 0x30;
      return false;
    }
    if (this.digits === 0) throw relpError(`frame ${this.txnr} ${this.commandText()}: expected DATALEN digits, got ${show(byte)}`);
    if (this.dataLength > this.maxDataBytes) {
      throw relpError(`frame ${this.txnr} ${this.commandText()}: DATALEN ${this.dataLength} is over the limit of ${this.maxDataBytes} bytes`);
    }
    if (this.dataLength === 0) {
      if (byte !== LF) throw relpError(`frame ${this.txnr} ${this.commandText()}: missing trailer, expected LF after DATALEN 0, got ${show(byte)}`);
      return true;
    }
    if (byte !== SP) throw relpError(`frame ${this.txnr} ${this.commandText()}: expected SP after DATALEN, got ${show(byte)}`);
    this.state = State.Data;
    return false;
  }

  private finish(): RelpFrame {
    const frame: RelpFrame = { txnr: this.txnr, command: this.commandText(), data: this.data ?? EMPTY };
    this.state = State.Txnr;
    this.digits = 0;
    this.txnr = 0;
    this.commandLength = 0;
    this.dataLength = 0;
    this.data = undefined;
    this.dataBytes = 0;
    return frame;
  }

  private commandText(): string {
    return this.command.toString('latin1', 0, this.commandLength);
  }
}

/** An `rsp` frame's data, parsed. */
export interface RelpResponse {
  /** 200 for success, 500 (or any other) for a failure. */
  code: number;
  /** The text after the code on the first line ('OK', a reason). */
  text: string;
  /** The offers on the following lines (an `open`'s answer); absent when there are none. */
  offers?: Map<string, string>;
}

/** `CODE SP TEXT [LF OFFERS]` (e.g. `200 OK`, `500 reason`, `200 OK\nrelp_version=0\n…`); throws RelayError('ERR_RELP') when it does not start with a 3-digit code. */
export function parseResponse(data: Buffer): RelpResponse {
  const text = data.toString('utf8');
  const match = /^([0-9]{3})(?: ([^\n]*))?(?:\n([\s\S]*))?$/.exec(text);
  if (!match) throw relpError(`rsp data ${JSON.stringify(text.slice(0, 60))}: expected a 3-digit code, SP and a text`);
  const response: RelpResponse = { code: Number(match[1]), text: match[2] ?? '' };
  if (match[3] !== undefined && match[3] !== '') response.offers = parseOffers(match[3]);
  return response;
}

/** Offers as librelp sends them: one `name=value` (or a bare `name`) per line, LF-separated, no trailing LF. */
export function formatOffers(offers: Iterable<readonly [string, string]>): string {
  return [...offers].map(([name, value]) => (value === '' ? name : `${name}=${value}`)).join('\n');
}

/** `name=value` lines (blank lines skipped; a bare `name` maps to ''); the first `=` splits, later ones stay in the value. */
export function parseOffers(text: string): Map<string, string> {
  const offers = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq === -1) offers.set(line, '');
    else offers.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return offers;
}

const EMPTY = Buffer.alloc(0);

function relpError(reason: string): RelayError {
  return new RelayError('ERR_RELP', `RELP: ${reason}`);
}

/** A byte for a message: 'LF', 'SP', "'x'" or 0xNN. */
function show(byte: number): string {
  if (byte === LF) return 'LF';
  if (byte === SP) return 'SP';
  return byte > 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `0x${byte.toString(16).padStart(2, '0')}`;
}
