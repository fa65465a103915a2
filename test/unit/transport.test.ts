/**
 * The TLS transport (src/egress/transport.ts) through the real Connection state machine, against
 * real Node TLS servers on 127.0.0.1 with a throwaway PKI: what is verified (chain, name, IP),
 * SNI, the connect deadline over the handshake, and mutual TLS in TLS 1.2 and 1.3 (where the
 * server's verdict on the client certificate comes after the client's handshake).
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { Connection } from '../../src/egress/connection.js';
import { tlsConnectFn } from '../../src/egress/transport.js';
import type { TlsClientOptions } from '../../src/thread-protocol.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';

let pki: TestPki;
before(async () => {
  pki = await createTestPki();
});
after(async () => {
  await pki.remove();
});

/** How one attempt ended: up, or down with a reason. */
type Outcome = { up: true } | { up: false; reason: string; tlsFailed: boolean };

/** Makes one connection attempt to 127.0.0.1:`port` (or `host`) and closes it at its first outcome. */
async function attempt(port: number, settings: Partial<TlsClientOptions>, host = '127.0.0.1', connectTimeoutMs = 5000): Promise<Outcome> {
  const full: TlsClientOptions = { ca: pki.ca.cert, cert: undefined, key: undefined, servername: undefined, fingerprint: '', ...settings };
  return new Promise<Outcome>((resolve) => {
    const connection: Connection = new Connection(
      { host, port, connectTimeoutMs, stallTimeoutMs: 60_000, reconnectMinMs: 60_000, reconnectMaxMs: 60_000 },
      {
        onUp: () => {
          connection.close(false);
          resolve({ up: true });
        },
        onDown: (_wasUp, reason, tlsFailed) => {
          connection.close(false);
          resolve({ up: false, reason, tlsFailed });
        },
        onDrain: () => {},
        onIdle: () => {},
      },
      tlsConnectFn(full),
    );
    connection.start();
  });
}

interface Listening {
  port: number;
  /** Destroys every connection, then closes the listener. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0 and keeps track of the raw connections, so close() ends them all. */
async function listen(server: net.Server): Promise<Listening> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A TLS server that records the SNI name of each ClientHello that carried one (the server reads it
 * before it answers, so by the time a client is up its name is recorded).
 */
async function tlsServer(options: tls.TlsOptions): Promise<Listening & { servernames: string[] }> {
  const servernames: string[] = [];
  const server = tls.createServer({
    ...options,
    SNICallback: (name, callback) => {
      servernames.push(name);
      callback(null, undefined);
    },
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => socket.on('error', () => {}));
  server.on('tlsClientError', () => {});
  return { ...(await listen(server)), servernames };
}

test('transport: a server signed by --tls-ca is up, for its IP address; no SNI is sent for an IP', async () => {
  const server = await tlsServer({ cert: pki.server.cert, key: pki.server.key });
  try {
    assert.deepEqual(await attempt(server.port, {}), { up: true });
    assert.deepEqual(server.servernames, [], 'no SNI for an IP address (RFC 6066)');
  } finally {
    await server.close();
  }
});

test("transport: a CA missing from the store, or Node's store alone, fails verification as a TLS failure with OpenSSL's code", async () => {
  const server = await tlsServer({ cert: pki.server.cert, key: pki.server.key });
  try {
    for (const ca of [pki.untrustedCa.cert, undefined]) {
      assert.deepEqual(await attempt(server.port, { ca }), {
        up: false,
        reason: 'unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
        tlsFailed: true,
      });
    }
  } finally {
    await server.close();
  }
});

test('transport: servername: a certificate for "localhost" only fails at 127.0.0.1 without it, and is up with it (sent as SNI)', async () => {
  const server = await tlsServer({ cert: pki.localhostOnly.cert, key: pki.localhostOnly.key });
  try {
    const without = await attempt(server.port, {});
    assert.equal(without.up, false);
    assert.match(
      !without.up ? without.reason : '',
      /^Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list \(ERR_TLS_CERT_ALTNAME_INVALID\)$/,
    );
    assert.equal(!without.up && without.tlsFailed, true);
    assert.deepEqual(await attempt(server.port, { servername: 'localhost' }), { up: true });
    // A name as host is its own servername.
    assert.deepEqual(await attempt(server.port, {}, 'localhost'), { up: true });
    assert.deepEqual(server.servernames, ['localhost', 'localhost']);
  } finally {
    await server.close();
  }
});

test('transport: the connect deadline covers the handshake: a server that accepts TCP and never answers is a TLS failure', async () => {
  const silent = await listen(net.createServer());
  try {
    assert.deepEqual(await attempt(silent.port, {}, '127.0.0.1', 300), {
      up: false,
      reason: 'connect timed out after 300 ms (TLS handshake not finished)',
      tlsFailed: true,
    });
  } finally {
    await silent.close();
  }
});

test('transport: a plain TCP server is a TLS failure, not a connection that came up', async () => {
  const plain = await listen(net.createServer((socket) => socket.end('HTTP/1.0 400 Bad Request\r\n\r\n')));
  try {
    assert.deepEqual(await attempt(plain.port, {}), { up: false, reason: 'wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)', tlsFailed: true });
  } finally {
    await plain.close();
  }
});

for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`transport: mutual TLS (${maxVersion}): refused without a client certificate or with an untrusted one, up with one the server trusts`, async () => {
    const server = await tlsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true, maxVersion });
    try {
      const without = await attempt(server.port, {});
      const untrusted = await attempt(server.port, { cert: pki.untrustedCa.cert, key: pki.untrustedCa.key });
      // TLS 1.3: the server's verdict comes after the client's handshake; the connection waited
      // for it (a session ticket) instead of going up and writing into a refused session.
      for (const outcome of [without, untrusted]) assert.equal(outcome.up === false && outcome.tlsFailed, true, JSON.stringify(outcome));
      assert.match(
        !without.up ? without.reason : '',
        maxVersion === 'TLSv1.3' ? /\(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\)$/ : /\(ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE\)$/,
      );
      assert.deepEqual(await attempt(server.port, { cert: pki.client.cert, key: pki.client.key }), { up: true });
    } finally {
      await server.close();
    }
  });
}

/**
 * What the transport relies on to tell that a TLS 1.3 server has yet to judge the client: the
 * shared signature algorithms of a client are computed from the server's CertificateRequest, so
 * they are empty when the server asked for no certificate.
 */
test('transport: a client sees a certificate request through getSharedSigalgs() (empty when none was asked)', async () => {
  for (const requestCert of [false, true]) {
    const server = await tlsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert, rejectUnauthorized: false });
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, ca: pki.ca.cert });
    try {
      await once(socket, 'secureConnect');
      assert.equal(socket.getProtocol(), 'TLSv1.3');
      assert.equal(socket.getSharedSigalgs().length > 0, requestCert);
    } finally {
      socket.destroy();
      await server.close();
    }
  }
});
