/**
 * Throwaway certificates for the bench's TLS sinks and the tests, made with the `openssl` command
 * in a directory the caller owns and removes: a CA, certificates it signs, or one self-signed
 * certificate. EC P-256 keys (quick to make), valid for two days, each openssl run bounded in
 * time. Never for production use.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A certificate and its key: the files, and their PEM text. */
export interface CertAndKey {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

const OPENSSL_TIMEOUT_MS = 15_000;
const DAYS = '2';
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Runs `openssl ARGS…` in `dir`; rejects with one line (its last line of stderr) if it fails or overruns. */
function openssl(dir: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd: dir, timeout: OPENSSL_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'the openssl command is not installed (throwaway certificates are made with it)'
          : error.killed
            ? `no answer within ${OPENSSL_TIMEOUT_MS} ms`
            : (stderr.trim().split('\n').at(-1) ?? error.message);
      reject(new Error(`openssl ${args[0]}: ${why}`));
    });
  });
}

async function read(dir: string, name: string): Promise<CertAndKey> {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

/** `altNames` such as ['IP:127.0.0.1', 'DNS:localhost'] as one subjectAltName value. */
function subjectAltName(altNames: readonly string[]): string {
  return `subjectAltName=${altNames.join(',')}`;
}

/** A new CA certificate `<name>.pem` (key `<name>.key`) in `dir`. */
export function makeCa(dir: string, name: string): Promise<CertAndKey> {
  return selfSignedWith(dir, name, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/** A certificate `<name>.pem` signed by `ca`, for a server (with `altNames`) or a client. */
export async function issueCert(dir: string, ca: CertAndKey, name: string, use: 'server' | 'client', altNames: readonly string[] = []): Promise<CertAndKey> {
  await openssl(dir, ['req', '-new', ...NEW_EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  const extensions = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${use === 'server' ? 'serverAuth' : 'clientAuth'}`,
    ...(altNames.length > 0 ? [subjectAltName(altNames)] : []),
  ];
  await writeFile(path.join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    DAYS,
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
  return read(dir, name);
}

/** A self-signed server certificate `<name>.pem` for `altNames`: its own trust anchor (give it as the client's CA). */
export function selfSigned(dir: string, name: string, altNames: readonly string[]): Promise<CertAndKey> {
  return selfSignedWith(dir, name, [subjectAltName(altNames)]);
}

/** A new key and a self-signed certificate `<name>.pem` for it, with these X.509v3 extensions. */
async function selfSignedWith(dir: string, name: string, extensions: readonly string[]): Promise<CertAndKey> {
  await openssl(dir, [
    'req',
    '-x509',
    ...NEW_EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    DAYS,
    '-subj',
    `/CN=${name}`,
    ...extensions.flatMap((extension) => ['-addext', extension]),
  ]);
  return read(dir, name);
}
