/** Snapshot fixtures for renderer tests: realistic values, no clock. */
import type { Snapshot } from '../../src/metrics/snapshot-types.js';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

/**
 * A relay 10 minutes up: two listeners (the TCP one accepted 17 connections), three destinations
 * (one down for 90 s, one with every drop reason; each with one damaged spill segment of 4096 bytes).
 */
export function snapshotFixture(): Snapshot {
  return {
    timeMs: T0 + 600_000,
    startedMs: T0,
    ingestRunning: true,
    udpIngest: 'native',
    ring: { capacityBytes: 64 * 1024 * 1024, usedBytes: 16 * 1024 * 1024 },
    reloads: { ok: 2, failed: 1 },
    listeners: [
      {
        name: 'udp@0.0.0.0:2008',
        reusePort: true,
        receivedMessages: 1_000_000,
        receivedBytes: 100_000_000,
        kernelDroppedMessages: 12,
        droppedMessages: { oversize: 1, ring_full: 0, framing: 0, not_allowed: 3, denied: 0, rate_limited: 0 },
        connectionsAccepted: 0,
        closedConnections: { tls_handshake: 0, max_connections: 0, idle_timeout: 0, proxy_header: 0 },
      },
      {
        name: 'tcp@[::]:2010',
        reusePort: false,
        receivedMessages: 5000,
        receivedBytes: 500_000,
        kernelDroppedMessages: 0,
        droppedMessages: { oversize: 0, ring_full: 0, framing: 2, not_allowed: 0, denied: 0, rate_limited: 0 },
        connectionsAccepted: 17,
        closedConnections: { tls_handshake: 2, max_connections: 5, idle_timeout: 1, proxy_header: 0 },
      },
    ],
    destinations: [
      dest('tcp@10.0.0.5:2009', true, T0, 1_005_000, { overflow: 0, spill_full: 0, unframeable: 0, shutdown: 0, rejected: 0 }, 0),
      dest('tcp@10.0.0.6:2009', false, T0 + 510_000, 900_000, { overflow: 50_000, spill_full: 0, unframeable: 0, shutdown: 0, rejected: 0 }, 55_000),
      dest('tcp@logs-b:6514?framing=octet', true, T0 + 1000, 990_000, { overflow: 7, spill_full: 8, unframeable: 9, shutdown: 10, rejected: 0 }, 4),
    ],
    threads: [
      { name: 'main', tid: 100, cpuSeconds: 1.5 },
      { name: 'ingest', tid: 101, cpuSeconds: 120 },
      { name: 'egress', tid: 102, cpuSeconds: 90 },
      { name: 'background', tid: 103, cpuSeconds: 0.5 },
    ],
    process: { cpuSeconds: 212, residentBytes: 150 * 1024 * 1024 },
  };
}

function dest(
  name: string,
  up: boolean,
  sinceMs: number,
  sent: number,
  dropped: Snapshot['destinations'][number]['droppedMessages'],
  lag: number,
): Snapshot['destinations'][number] {
  return {
    name,
    up,
    sinceMs,
    sentMessages: sent,
    sentBytes: sent * 104,
    droppedMessages: dropped,
    spilledMessages: 20,
    replayedMessages: 15,
    lagMessages: lag,
    lagBytes: lag * 104,
    reconnects: up ? 1 : 6,
    unconfirmedMessages: 3,
    group: undefined,
    othersMessages: 0,
    handedOverMessages: 0,
    takenOverMessages: 0,
    splitMessages: 2,
    stalls: 1,
    connects: up ? 2 : 3,
    resentMessages: up ? 5 : 40,
    spillCorruptSegments: 1,
    spillCorruptBytes: 4096,
    tlsFailures: up ? 0 : 3,
  };
}

/**
 * `s` advanced by `seconds`, by known amounts (tests assert these exact numbers):
 * - every listener receives `perSecond` more messages a second (100 bytes each), every up
 *   destination sends them (104 bytes each, framing included);
 * - udp@0.0.0.0:2008: 40 more kernel drops and 5 more `not_allowed`; tcp@[::]:2010: 1 more `framing`;
 * - tcp@10.0.0.6:2009 (down): 310 more `overflow`; tcp@logs-b:6514?framing=octet: 2 more `unframeable`;
 * - CPU: main 1%, ingest 25%, egress 20%, background 4% of one core; the process 50%.
 */
export function later(s: Snapshot, seconds: number, perSecond: number): Snapshot {
  const next = structuredClone(s);
  const messages = perSecond * seconds;
  next.timeMs += seconds * 1000;
  for (const l of next.listeners) {
    l.receivedMessages += messages;
    l.receivedBytes += messages * 100;
  }
  for (const d of next.destinations) {
    if (!d.up) continue;
    d.sentMessages += messages;
    d.sentBytes += messages * 104;
  }
  // By position, so a test may first remove listeners or destinations from the fixture.
  const [udp, tcp] = next.listeners;
  const [, down, octet] = next.destinations;
  if (udp) {
    udp.kernelDroppedMessages += 40;
    udp.droppedMessages.not_allowed += 5;
  }
  if (tcp) tcp.droppedMessages.framing += 1;
  if (down) down.droppedMessages.overflow += 310;
  if (octet) octet.droppedMessages.unframeable += 2;
  const cpuShare: Record<string, number> = { main: 0.01, ingest: 0.25, egress: 0.2, background: 0.04 };
  for (const t of next.threads) t.cpuSeconds += (cpuShare[t.name] ?? 0) * seconds;
  next.process.cpuSeconds += 0.5 * seconds;
  return next;
}
