/**
 * TLS settings of a tls@ destination (which files and which name), and of tls@ listeners: read
 * and checked by the main thread (at start, by --check-config and on every reload, so a rotated
 * certificate is picked up) and handed to the egress or ingest thread as PEM text. One loader each
 * for the command line and the file.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { RelayError } from '../errors.js';
import type { ListenerTls, TlsClientOptions } from '../thread-protocol.js';

/** What the user gave: file paths and a name, any of them absent. */
export interface TlsSettings {
  /** PEM file of CA certificates trusted beside Node's own store (--tls-ca). */
  caFile: string | undefined;
  /** PEM client certificate for mutual TLS (--tls-cert); needs certKey. */
  certFile: string | undefined;
  /** PEM private key of the client certificate (--tls-key). */
  keyFile: string | undefined;
  /** Name the server certificate must carry (and SNI); default: the destination's host. */
  servername: string | undefined;
}

/**
 * Reads the files of `settings` and checks they parse and fit together (a certificate with its
 * key). `where` prefixes every error ('--tls-ca', 'relay.toml: destination 2: tls-ca' is built
 * by the caller as 'relay.toml: destination 2'); throws RelayError('ERR_TLS_FILE').
 */
export function loadTlsClient(settings: TlsSettings, where: string): TlsClientOptions {
  const prefix = where === '' ? '' : `${where}: `;
  const read = (file: string | undefined, key: string): string | undefined => (file === undefined ? undefined : readPem(file, `${prefix}${key}`));
  const ca = read(settings.caFile, 'tls-ca');
  const cert = read(settings.certFile, 'tls-cert');
  const key = read(settings.keyFile, 'tls-key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new RelayError('ERR_TLS_FILE', `${prefix}tls-cert and tls-key go together: give both for a client certificate, or neither`);
  }
  if (ca !== undefined) {
    checkCertificate(ca, `${prefix}tls-ca ${settings.caFile}`);
    try {
      // The context egress builds: every certificate in the file must parse, not only the first.
      tls.createSecureContext({ ca: [...tls.rootCertificates, ca] });
    } catch (error) {
      throw new RelayError('ERR_TLS_FILE', `${prefix}tls-ca ${settings.caFile}: not usable as CA certificates: ${(error as Error).message}`, { cause: error });
    }
  }
  if (cert !== undefined) {
    checkCertificate(cert, `${prefix}tls-cert ${settings.certFile}`);
    checkKeyFits(cert, key!, `${prefix}tls-key ${settings.keyFile}`, `tls-cert ${settings.certFile}`);
  }
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([settings.servername ?? '', ca ?? '', cert ?? '', key ?? '']))
    .digest('hex');
  return { ca, cert, key, servername: settings.servername, fingerprint };
}

/** The files of --listen-tls-cert, --listen-tls-key and --listen-tls-ca, read and checked; throws RelayError('ERR_TLS_FILE'). */
export function loadTlsServer(files: { certFile: string; keyFile: string; caFile: string | undefined }): ListenerTls {
  const cert = readPem(files.certFile, '--listen-tls-cert');
  const key = readPem(files.keyFile, '--listen-tls-key');
  const ca = files.caFile === undefined ? undefined : readPem(files.caFile, '--listen-tls-ca');
  checkCertificate(cert, `--listen-tls-cert ${files.certFile}`);
  checkKeyFits(cert, key, `--listen-tls-key ${files.keyFile}`, `--listen-tls-cert ${files.certFile}`);
  if (ca !== undefined) {
    checkCertificate(ca, `--listen-tls-ca ${files.caFile}`);
    try {
      tls.createSecureContext({ ca });
    } catch (error) {
      throw new RelayError('ERR_TLS_FILE', `--listen-tls-ca ${files.caFile}: not usable as CA certificates: ${(error as Error).message}`, { cause: error });
    }
  }
  return { cert, key, ca };
}

/** The text of PEM file `file`, given as `what` (`--listen-tls-cert`, `relay.toml: destination 2: tls-ca`); throws RelayError('ERR_TLS_FILE'). */
function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new RelayError('ERR_TLS_FILE', `${what} ${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
}

/** Throws RelayError('ERR_TLS_FILE') naming the key (`keyWhat`) unless `key` is the private key of `cert` (`certWhat`). */
function checkKeyFits(cert: string, key: string, keyWhat: string, certWhat: string): void {
  try {
    tls.createSecureContext({ cert, key });
  } catch (error) {
    throw new RelayError('ERR_TLS_FILE', `${keyWhat}: does not fit ${certWhat}: ${(error as Error).message}`, { cause: error });
  }
}

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

/** Throws RelayError('ERR_TLS_FILE') naming `what` unless `pem` holds a certificate that parses. */
function checkCertificate(pem: string, what: string): void {
  if (!pem.includes(PEM_CERTIFICATE)) throw new RelayError('ERR_TLS_FILE', `${what}: not a PEM certificate (no "${PEM_CERTIFICATE}" line)`);
  try {
    new X509Certificate(pem);
  } catch (error) {
    throw new RelayError('ERR_TLS_FILE', `${what}: not a PEM certificate: ${(error as Error).message}`, { cause: error });
  }
}
