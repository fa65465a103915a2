/**
 * Source allow- and deny-lists: the one parser of `--allow` and `--deny` values (CIDR blocks or
 * single addresses) and the check ingest runs per datagram or connection.
 */
import net from 'node:net';
import { RelayError } from '../errors.js';

import type { Cidr } from '../thread-protocol.js';

/** One allowed block (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128): the type the ingest thread is handed. */
export type { Cidr };

/** Parses an `--allow` (or `option`) value; throws RelayError('ERR_BAD_OPTION') naming it and the expected form. */
export function parseCidr(input: string, option = '--allow'): Cidr {
  const bad = (why: string): RelayError =>
    new RelayError(
      'ERR_BAD_OPTION',
      `${option} ${JSON.stringify(input)}: ${why}; expected an address or CIDR block like 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32`,
    );
  const slash = input.indexOf('/');
  const address = slash === -1 ? input : input.slice(0, slash);
  const version = net.isIP(address);
  if (version === 0) throw bad(`"${address}" is not an IPv4 or IPv6 address`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const maxPrefix = version === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash !== -1) {
    const text = input.slice(slash + 1);
    if (!/^\d{1,3}$/.test(text) || Number(text) > maxPrefix) throw bad(`prefix length must be 0-${maxPrefix}`);
    prefix = Number(text);
  }
  return { address, prefix, family, text: `${address}/${prefix}` };
}

/**
 * One allowed block in IPv6 space, where BlockList matches every address: an IPv4 block a.b.c.d/p
 * is ::ffff:a.b.c.d/(96+p), as an IPv4 sender is ::ffff:a.b.c.d. So an IPv4 sender and the same
 * sender IPv4-mapped get one verdict, and a /0 IPv6 block allows IPv4 senders too (Node 20's
 * BlockList answers so; test/unit/cidr.test.ts holds refusalBytes to refusal() on random addresses).
 */
interface ByteBlock {
  /** The block's address, 16 bytes, network order. */
  bytes: Uint8Array;
  prefixBits: number;
}

/** The first 12 bytes of an IPv4-mapped IPv6 address (::ffff:0:0/96). */
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

/** The 16 bytes of an address net.isIP accepted: IPv6, or IPv4 as ::ffff:a.b.c.d; a zone id (%eth0) is ignored, as BlockList does. */
function addressBytes(address: string, family: 'ipv4' | 'ipv6'): Uint8Array {
  const out = new Uint8Array(16);
  if (family === 'ipv4') {
    out.set(MAPPED_PREFIX);
    out.set(address.split('.').map(Number), 12);
    return out;
  }
  let text = address.split('%')[0]!;
  const dot = text.indexOf('.');
  if (dot !== -1) {
    // A trailing dotted quad (::ffff:192.0.2.1) is the last two groups.
    const colon = text.lastIndexOf(':');
    const [a, b, c, d] = text
      .slice(colon + 1)
      .split('.')
      .map(Number) as [number, number, number, number];
    text = `${text.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const front = groups(head);
  const back = groups(tail);
  const words = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  words.forEach((word, i) => {
    out[2 * i] = word >> 8;
    out[2 * i + 1] = word & 0xff;
  });
  return out;
}

/** Whether the 16 bytes of `address` from `at` lie in `block`. */
function inBlock(block: ByteBlock, address: Uint8Array, at: number): boolean {
  const whole = block.prefixBits >>> 3;
  for (let i = 0; i < whole; i++) if (address[at + i] !== block.bytes[i]) return false;
  const rest = block.prefixBits & 7;
  return rest === 0 || ((address[at + whole]! ^ block.bytes[whole]!) & (0xff00 >>> rest) & 0xff) === 0;
}

/** Why a source may not send: outside --allow, or inside --deny. */
export type Refusal = 'not_allowed' | 'denied';

/** Blocks of addresses, asked by text (as a socket reports it) or by raw bytes (as the native receiver reports it). */
class CidrSet {
  private readonly blocks = new net.BlockList();
  /** The same blocks for containsBytes. */
  private readonly byteBlocks: ByteBlock[] = [];
  /** An IPv4 sender as ::ffff:a.b.c.d, rewritten per call (no allocation per datagram). */
  private readonly mapped = Uint8Array.from({ length: 16 }, (_, i) => MAPPED_PREFIX[i] ?? 0);

  constructor(cidrs: readonly Cidr[]) {
    for (const c of cidrs) {
      this.blocks.addSubnet(c.address, c.prefix, c.family);
      this.byteBlocks.push({ bytes: addressBytes(c.address, c.family), prefixBits: c.family === 'ipv4' ? 96 + c.prefix : c.prefix });
    }
  }

  contains(address: string): boolean {
    // A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d; match them against IPv4 blocks.
    const mapped = address.startsWith('::ffff:') ? address.slice(7) : undefined;
    if (mapped !== undefined && net.isIPv4(mapped) && this.blocks.check(mapped, 'ipv4')) return true;
    return this.blocks.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
  }

  containsBytes(family: 4 | 6, bytes: Uint8Array, offset: number): boolean {
    let address = bytes;
    let at = offset;
    if (family === 4) {
      address = this.mapped;
      at = 0;
      for (let i = 0; i < 4; i++) address[12 + i] = bytes[offset + i]!;
    }
    for (const block of this.byteBlocks) if (inBlock(block, address, at)) return true;
    return false;
  }
}

/**
 * Answers "may this source send to us?": it must be in an --allow block (an empty list allows
 * everyone) and in no --deny block (deny wins: a denied address inside an allowed block is refused).
 */
export class AllowList {
  private readonly allowed: CidrSet | undefined;
  private readonly denied: CidrSet | undefined;

  constructor(allow: readonly Cidr[], deny: readonly Cidr[] = []) {
    this.allowed = allow.length > 0 ? new CidrSet(allow) : undefined;
    this.denied = deny.length > 0 ? new CidrSet(deny) : undefined;
  }

  /** True when every source is allowed (no --allow, no --deny): callers may skip working out the address. */
  get allowsEveryone(): boolean {
    return this.allowed === undefined && this.denied === undefined;
  }

  /** Why `address` (as a socket reports it, IPv4-mapped IPv6 included) may not send, or undefined when it may. */
  refusal(address: string | undefined): Refusal | undefined {
    if (this.allowsEveryone) return undefined;
    if (address === undefined) return this.allowed ? 'not_allowed' : undefined;
    if (this.denied?.contains(address)) return 'denied';
    if (this.allowed && !this.allowed.contains(address)) return 'not_allowed';
    return undefined;
  }

  /**
   * refusal() of the raw address at `offset` of `bytes` (4 bytes for family 4, 16 for 6, network
   * order, as the native receiver reports senders), without text.
   */
  refusalBytes(family: 4 | 6, bytes: Uint8Array, offset: number): Refusal | undefined {
    if (this.denied?.containsBytes(family, bytes, offset)) return 'denied';
    if (this.allowed && !this.allowed.containsBytes(family, bytes, offset)) return 'not_allowed';
    return undefined;
  }
}
