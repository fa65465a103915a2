/** Turning a parsed host into a socket address: literals as they are, names through the resolver. */
import dns from 'node:dns/promises';
import net from 'node:net';
import { RelayError } from '../errors.js';

/** Resolves `host` (IPv4, IPv6 or a name) once, to an address and its family. Throws RelayError('ERR_RESOLVE') when a name does not resolve. */
export async function resolveHost(host: string, what: string): Promise<{ host: string; family: 4 | 6 }> {
  const family = net.isIP(host);
  if (family === 4 || family === 6) return { host, family };
  try {
    const found = await dns.lookup(host);
    return { host: found.address, family: found.family === 6 ? 6 : 4 };
  } catch (error) {
    throw new RelayError('ERR_RESOLVE', `${what}: cannot resolve "${host}": ${(error as Error).message}`, { cause: error });
  }
}
