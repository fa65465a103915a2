/**
 * Source allow-lists: the one parser of `--allow` values (CIDR blocks or single addresses) and
 * the check ingest runs per datagram or connection.
 */
import net from 'node:net';
import { RelayError } from '../errors.js';

/** One allowed block: `10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  /** Canonical text, e.g. '10.0.0.0/8'. */
  text: string;
}

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

/** Answers "may this source send to us?" for a list of blocks; an empty list allows everyone. */
export class AllowList {
  private readonly blocks: net.BlockList | undefined;

  constructor(cidrs: readonly Cidr[]) {
    if (cidrs.length === 0) return;
    this.blocks = new net.BlockList();
    for (const c of cidrs) this.blocks.addSubnet(c.address, c.prefix, c.family);
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
}
