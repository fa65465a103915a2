/**
 * The PROXY protocol header a load balancer (HAProxy `send-proxy`/`send-proxy-v2`, AWS NLB, …)
 * puts before a connection's own bytes, to say who the client is (HAProxy's proxy-protocol.txt).
 * A `?proxy=v1|v2` listener reads it before anything else — before the TLS handshake on tls@,
 * before the framing — and the source it names is the one allow, deny and rate limits use.
 *
 * v1 is a text line, `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n` or `PROXY UNKNOWN …\r\n`, at most
 * 107 bytes; v2 a 16-byte binary head (12-byte signature, version and command, family, length)
 * and `length` bytes of addresses and TLVs. The fields are parsed by proxy-protocol-js; this module
 * finds where the header ends in a stream, which the library does not, and checks what the
 * library lets through (v1 addresses that are not addresses, ports past 65535) or refuses that
 * the specification allows (`PROXY UNKNOWN`). `UNKNOWN`, v2 `LOCAL` (a balancer's own health
 * check) and families other than IPv4 and IPv6 name no client: the connection's own address is
 * used, as the specification says.
 */
import net from 'node:net';
import { V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';

export const PROXY_VERSIONS = ['v1', 'v2'] as const;
export type ProxyVersion = (typeof PROXY_VERSIONS)[number];

/** A header that is not one: the connection is refused. */
export class ProxyHeaderError extends Error {}

const V1_PREFIX = Buffer.from('PROXY ');
const V1_MAX_BYTES = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_HEAD_BYTES = 16;

/**
 * Where the header at the start of `bytes` ends (the offset of the connection's first own byte),
 * or undefined when more bytes are needed; throws ProxyHeaderError as soon as the bytes cannot
 * begin a header of `version`.
 */
export function proxyHeaderEnd(bytes: Buffer, version: ProxyVersion): number | undefined {
  if (version === 'v1') {
    expectPrefix(bytes, V1_PREFIX, 'v1 ("PROXY ")');
    const lf = bytes.subarray(0, V1_MAX_BYTES).indexOf('\r\n');
    if (lf >= 0) return lf + 2;
    if (bytes.length >= V1_MAX_BYTES) throw new ProxyHeaderError(`PROXY v1 header without CRLF in its first ${V1_MAX_BYTES} bytes`);
    return undefined;
  }
  expectPrefix(bytes, V2_SIGNATURE, 'v2 (its 12-byte signature)');
  if (bytes.length < V2_HEAD_BYTES) return undefined;
  const end = V2_HEAD_BYTES + bytes.readUInt16BE(14);
  return bytes.length >= end ? end : undefined;
}

/**
 * The client address a whole header (`header`, as delimited by proxyHeaderEnd) names, or undefined
 * when it names none (the connection's own address applies); throws ProxyHeaderError.
 */
export function proxyHeaderSource(header: Buffer, version: ProxyVersion): string | undefined {
  return version === 'v1' ? v1Source(header.toString('latin1')) : v2Source(header);
}

function v1Source(line: string): string | undefined {
  if (/^PROXY UNKNOWN(?: [^\r\n]*)?\r\n$/.test(line)) return undefined;
  let parsed: V1ProxyProtocol;
  try {
    parsed = V1ProxyProtocol.parse(line);
  } catch {
    throw new ProxyHeaderError(`bad PROXY v1 header ${JSON.stringify(line)}`);
  }
  const { inetProtocol, source, destination } = parsed;
  const family = inetProtocol === 'TCP4' ? 4 : 6;
  for (const peer of [source, destination]) {
    if (net.isIP(peer.ipAddress) !== family || !Number.isInteger(peer.port) || peer.port < 0 || peer.port > 65_535) {
      throw new ProxyHeaderError(`bad PROXY v1 header ${JSON.stringify(line)}: not ${inetProtocol} addresses and ports`);
    }
  }
  return source.ipAddress;
}

function v2Source(header: Buffer): string | undefined {
  const versionCommand = header[12]!;
  if (versionCommand >> 4 !== 2) throw new ProxyHeaderError(`PROXY v2 header of version ${versionCommand >> 4}`);
  const command = versionCommand & 0x0f;
  if (command === 0) return undefined; // LOCAL: the balancer's own connection (a health check)
  if (command !== 1) throw new ProxyHeaderError(`PROXY v2 header with unknown command ${command}`);
  const family = header[13]! >> 4;
  const transport = header[13]! & 0x0f;
  if (family > 3 || transport > 2) throw new ProxyHeaderError(`PROXY v2 header with unknown family or transport 0x${header[13]!.toString(16)}`);
  if (family !== 1 && family !== 2) return undefined; // UNSPEC or UNIX: no client address to use
  const addressBytes = family === 1 ? 12 : 36;
  if (header.length - V2_HEAD_BYTES < addressBytes) throw new ProxyHeaderError(`PROXY v2 header too short for its ${family === 1 ? 'IPv4' : 'IPv6'} addresses`);
  let parsed: V2ProxyProtocol;
  try {
    parsed = V2ProxyProtocol.parse(header);
  } catch (error) {
    throw new ProxyHeaderError(`bad PROXY v2 header: ${(error as Error).message}`);
  }
  const address = (parsed.proxyAddress as { sourceAddress?: { address: number[] } }).sourceAddress?.address;
  if (!address) return undefined;
  return family === 1 ? address.join('.') : ipv6Text(address);
}

/** The canonical (compressed) text of 16 IPv6 address bytes, as a socket reports addresses. */
function ipv6Text(bytes: readonly number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

function expectPrefix(bytes: Buffer, prefix: Buffer, what: string): void {
  const n = Math.min(bytes.length, prefix.length);
  if (!bytes.subarray(0, n).equals(prefix.subarray(0, n))) throw new ProxyHeaderError(`no PROXY ${what} header`);
}

/**
 * Reads the header `version` at the start of `socket` (not yet read by anyone) and resolves with
 * the source it names (undefined: the connection's own); the bytes after it are put back
 * (`unshift`) for whoever reads the connection next. Rejects with ProxyHeaderError when the bytes
 * are not a header, the connection ends first, or no header came within `timeoutMs`. Leaves the
 * socket paused, its listeners as they were.
 */
export function readProxyHeader(socket: net.Socket, version: ProxyVersion, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0);
    const finish = (error: Error | undefined, source?: string, rest?: Buffer): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      if (error) {
        reject(error);
        return;
      }
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(source);
    };
    const onReadable = (): void => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        let end: number | undefined;
        let source: string | undefined;
        try {
          end = proxyHeaderEnd(pending, version);
          if (end === undefined) continue;
          source = proxyHeaderSource(pending.subarray(0, end), version);
        } catch (error) {
          finish(error as Error);
          return;
        }
        finish(undefined, source, pending.subarray(end));
        return;
      }
    };
    const onEnd = (): void => finish(new ProxyHeaderError(`closed before its PROXY ${version} header was complete`));
    const timer = setTimeout(() => finish(new ProxyHeaderError(`no PROXY ${version} header within ${timeoutMs} ms`)), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
  });
}
