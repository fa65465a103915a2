/**
 * A throwaway PKI for the TLS tests, made with the `openssl` command (src/bench/throwaway-certs.ts)
 * in a temp directory that remove() deletes: a CA, a server and a client certificate it signed, a
 * server certificate for "localhost" only, and a second CA nobody trusts.
 */
import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { issueCert, makeCa, type CertAndKey } from '../../src/bench/throwaway-certs.js';

export interface TestPki {
  dir: string;
  /** The CA the relay is told to trust (--tls-ca). */
  ca: CertAndKey;
  /** For 127.0.0.1 (an IP SAN) and localhost, signed by `ca`. */
  server: CertAndKey;
  /** For localhost only (no IP SAN), signed by `ca`: reached at 127.0.0.1 it needs servername "localhost". */
  localhostOnly: CertAndKey;
  /** A client certificate signed by `ca` (mutual TLS). */
  client: CertAndKey;
  /** A second CA, unrelated to `ca` (the wrong --tls-ca). */
  untrustedCa: CertAndKey;
  /** Deletes the directory. */
  remove(): Promise<void>;
}

/** Makes the whole set (a dozen openssl runs of a few ms each, each bounded in time). */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'relay-pki-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const ca = await makeCa(dir, 'relay-test-ca');
    const [server, localhostOnly, client, untrustedCa] = await Promise.all([
      issueCert(dir, ca, 'server', 'server', ['IP:127.0.0.1', 'DNS:localhost']),
      issueCert(dir, ca, 'localhost-only', 'server', ['DNS:localhost']),
      issueCert(dir, ca, 'client', 'client'),
      makeCa(dir, 'untrusted-ca'),
    ]);
    return { dir, ca, server, localhostOnly, client, untrustedCa, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** One PKI for every test of the calling file: made before them, removed after; the function returns it. */
export function testPkiPerFile(): () => TestPki {
  let pki: TestPki | undefined;
  before(async () => {
    pki = await createTestPki();
  });
  after(async () => {
    await pki?.remove();
  });
  return () => pki!;
}
