/**
 * Interop: the real rsyslogd (Debian's, with rsyslog-gnutls) sends to a tls@ listener as it sends
 * to any RFC 5425 receiver: omfwd with its GnuTLS stream driver, octet-counted framing, verifying
 * the relay's certificate by name and presenting a client certificate (mutual TLS). Lines given
 * to rsyslog's imtcp come out of the relay byte for byte, in order.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { testPkiPerFile } from '../helpers/certs.js';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { missingRsyslogTls, startRsyslogWith } from '../helpers/rsyslog.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';

const pki = testPkiPerFile();

test('tls@ listener: rsyslog omfwd over mutual TLS (gtls, octet-counted) delivers 2,000 lines byte-exact, in order', async (t) => {
  if (missingRsyslogTls(t)) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'relay-rsyslog-tls-'));
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  let rsyslog: RelayProcess | undefined;
  try {
    const started = await startRelay([
      'tls@127.0.0.1:0?framing=octet',
      `${sink.address()}?framing=lf`,
      '--listen-tls-cert',
      pki().server.certFile,
      '--listen-tls-key',
      pki().server.keyFile,
      '--listen-tls-ca',
      pki().ca.certFile,
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    const relayPort = Number(started.listeners[0]!.slice(started.listeners[0]!.lastIndexOf(':') + 1));
    const { cert, key } = { cert: pki().client.certFile, key: pki().client.keyFile };
    const running = await startRsyslogWith(
      dir,
      'rsyslog-tls',
      (port) => `# written by test/e2e/tls-listener-rsyslog.test.ts
global(workDirectory="${dir}" maxMessageSize="64k" parser.escapeControlCharactersOnReceive="off"
       defaultNetstreamDriverCAFile="${pki().ca.certFile}" defaultNetstreamDriverCertFile="${cert}" defaultNetstreamDriverKeyFile="${key}")
main_queue(queue.type="Direct")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%")
ruleset(name="forward") {
  action(type="omfwd" target="127.0.0.1" port="${relayPort}" protocol="tcp" template="raw" TCP_Framing="octet-counted"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost")
}
input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="forward")
*.* action(type="omfile" file="${dir}/internal.log")
`,
    );
    rsyslog = running.process;
    const lines = Array.from({ length: 2000 }, (_, i) => `<14>Dec  7 10:00:00 host app[42]: line ${i} with "quotes", tabs\tand 8-bit \u00e9`);
    const client = net.connect(running.port, '127.0.0.1');
    client.end(`${lines.join('\n')}\n`);
    await sink.waitFor(lines.length, 30_000);
    assert.deepEqual(
      sink.messages.map((m) => m.toString()),
      lines,
    );
  } finally {
    await rsyslog?.stop('SIGKILL');
    await stopRelayAndSinks(relay, [sink]);
    await rm(dir, { recursive: true, force: true });
  }
});
