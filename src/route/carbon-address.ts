/**
 * carbon-c-relay 3.7's reading of a member's or listener's address, as its router_validate_address
 * does it (our own code): the port after the last colon unless the text ends in `]`, brackets
 * around an IPv6 address, and no host at all for `:port`. And how it tells two apart: servers by
 * address and port (server_cmp), listeners by protocol, port and address per family
 * (router_add_listener). It compares resolved addresses; without the network, names are compared
 * as written here.
 */
import net from 'node:net';
import type { CarbonListener } from './carbon-types.js';

/** carbon-c-relay's port when a member or listener names none. */
export const CARBON_DEFAULT_PORT = 2003;

/** `host[:port]` or `[v6][:port]` as host and port (`host` undefined for `:port`), or carbon-c-relay's complaint. */
export function parseAddress(text: string): { host: string | undefined; port: number } | string {
  let ip = text;
  let port = CARBON_DEFAULT_PORT;
  const colon = text.endsWith(']') ? -1 : text.lastIndexOf(':');
  if (colon >= 0) {
    const portText = text.slice(colon + 1);
    // strtol: blanks, a sign, digits, and nothing after them
    const value = /^[ \t\n\v\f\r]*[+-]?[0-9]+$/.test(portText) ? Number(portText.trim()) : Number.NaN;
    if (!(value >= 1 && value <= 65535)) return `invalid port number '${portText}'`;
    port = value;
    ip = text.slice(0, colon);
  }
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) return "expected ']'";
    ip = ip.slice(1, -1);
  }
  return { host: colon === 0 ? undefined : ip, port };
}

/** carbon-c-relay's server identity: the address (numeric forms normalised), else the name as written, and the port. */
export function serverKey(host: string, port: number): string {
  return `${ipOf(host)?.address ?? host.toLowerCase()}|${port}`;
}

function ipOf(host: string): { family: 4 | 6; address: string } | undefined {
  try {
    if (net.isIPv6(host)) return { family: 6, address: new URL(`http://[${host}]`).hostname.slice(1, -1) };
    // getaddrinfo reads 127.1 and 0x7f.0.0.1 as inet_aton(3) does, and so does the WHATWG URL parser
    if (/^[0-9a-fA-FxX.]+$/.test(host)) {
      const hostname = new URL(`http://${host}`).hostname;
      if (net.isIPv4(hostname)) return { family: 4, address: hostname };
    }
  } catch {}
  return undefined;
}

const EVERY_INTERFACE: ReadonlyMap<number | string, string> = new Map<number | string, string>().set(4, '0.0.0.0').set(6, '::');

/** The addresses a listener binds per family (a name: itself, under its own name). */
function bindings(l: CarbonListener): ReadonlyMap<number | string, string> {
  if (l.host === undefined) return EVERY_INTERFACE;
  const ip = ipOf(l.host);
  const name = l.host.toLowerCase();
  return ip === undefined ? new Map([[name, name]]) : new Map([[ip.family, ip.address]]);
}

const isAny = (address: string): boolean => address === '0.0.0.0' || address === '::';

/** router_add_listener: same proto and port, and in one family the same address or either one `any`. */
export function overlaps(a: CarbonListener, b: CarbonListener): boolean {
  if (a.proto !== b.proto || a.port !== b.port) return false;
  const theirs = bindings(b);
  for (const [family, address] of bindings(a)) {
    const other = theirs.get(family);
    if (other !== undefined && (other === address || isAny(other) || isAny(address))) return true;
  }
  return false;
}
