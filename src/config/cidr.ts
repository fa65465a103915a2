/**
 * Source allow-lists: the one parser of `--allow` values (CIDR blocks or single addresses) and
 * the check ingest runs per datagram or connection.
 */
import net from 'node:net';
import { RelayError } from '../errors.js';

import type { Cidr } from '../thread-protocol.js';

/** One allowed block (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128): the type the ingest thread is handed. */
export type { Cidr };

/** Parses an `--allow` value; throws RelayError('ERR_BAD_OPTION') naming it and the expected form. */
export function parseCidr(input: string): Cidr {
  const bad = (why: string): RelayError =>
    new RelayError('ERR_BAD_OPTION', `--allow ${JSON.stringify(input)}: ${why}; expected an address or CIDR block like 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32`);
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
 * BlockList answers so; test/unit/cidr.test.ts holds allowsBytes to allows() on random addresses).
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

/** Answers "may this source send to us?" for a list of blocks; an empty list allows everyone. */
export class AllowList {
  private readonly blocks: net.BlockList | undefined;
  /** The same blocks for allowsBytes. */
  private readonly byteBlocks: ByteBlock[] = [];
  /** An IPv4 sender as ::ffff:a.b.c.d, rewritten per call (no allocation per datagram). */
  private readonly mapped = Uint8Array.from({ length: 16 }, (_, i) => MAPPED_PREFIX[i] ?? 0);

  constructor(cidrs: readonly Cidr[]) {
    if (cidrs.length === 0) return;
    this.blocks = new net.BlockList();
    for (const c of cidrs) {
      this.blocks.addSubnet(c.address, c.prefix, c.family);
      this.byteBlocks.push({ bytes: addressBytes(c.address, c.family), prefixBits: c.family === 'ipv4' ? 96 + c.prefix : c.prefix });
    }
  }

  /** True when every source is allowed (no --allow): callers may skip working out the address. */
  get allowsEveryone(): boolean {
    return this.blocks === undefined;
  }

  /** True when `address` (as a socket reports it, IPv4-mapped IPv6 included) is allowed. */
  allows(address: string | undefined): boolean {
    if (!this.blocks) return true;
    if (address === undefined) return false;
    // A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d; match them against IPv4 blocks.
    const mapped = address.startsWith('::ffff:') ? address.slice(7) : undefined;
    if (mapped !== undefined && net.isIPv4(mapped) && this.blocks.check(mapped, 'ipv4')) return true;
    return this.blocks.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
  }

  /**
   * True when the raw address at `offset` of `bytes` (4 bytes for family 4, 16 for 6, network
   * order, as the native receiver reports senders) is allowed: allows() of its text, without text.
   */
  allowsBytes(family: 4 | 6, bytes: Uint8Array, offset: number): boolean {
    if (!this.blocks) return true;
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
