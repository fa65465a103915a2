/**
 * The far end of a simulated destination and the messages it checks (shared by the egress, group and
 * reload simulations): payloads that carry their id and prove every byte, and a peer that decodes
 * every connection it accepted and checks I2 (whole frames, intact, ids strictly increasing per
 * connection).
 */
import type { FrameDecoder, FramingName } from '../../src/framing/index.js';
import type { DestinationCounters } from '../../src/metrics/counters.js';
import type { UpEvent } from '../../src/egress/attempt.js';
import type { Destination } from '../../src/egress/destination.js';
import type { RingReader } from '../../src/ring/ring-reader.js';
import type { ConnectionRecord, FakeClock, FakeSocket } from './fake-net.js';
import { SpillStore } from '../../src/spill/segment-store.js';
import { randomInt } from '../helpers/prng.js';

/** Message `id`: `<id>:` then a letter that depends on the id, `size` bytes in all (0: empty). */
export function payloadOf(id: number, size: number): Buffer {
  if (size === 0) return Buffer.alloc(0);
  const head = `${id}:`;
  const bytes = Buffer.alloc(Math.max(size, head.length), 97 + (id % 26));
  bytes.write(head, 0, 'latin1');
  return bytes;
}

/** The id in a non-empty payload, after checking every byte is what payloadOf wrote. */
export function idOf(payload: Buffer): number {
  const text = payload.toString('latin1');
  const colon = text.indexOf(':');
  const id = Number(text.slice(0, colon));
  if (colon < 1 || !Number.isInteger(id) || !payloadOf(id, payload.length).equals(payload)) {
    throw new Error(`corrupt payload (${payload.length} bytes): ${JSON.stringify(text.slice(0, 40))}`);
  }
  return id;
}

/** Messages a destination counted dropped, every reason. */
export function droppedOf(c: DestinationCounters): number {
  return c.read('droppedOverflow') + c.read('droppedSpillFull') + c.read('droppedUnframeable') + c.read('droppedShutdown');
}

/** One connection as the peer saw it, decoded as bytes arrive. */
export interface PeerConnection {
  socket: FakeSocket;
  record: ConnectionRecord;
  decoder: FrameDecoder;
  decodedChunks: number;
  lastId: number;
}

/** The far end of one destination: every connection it ever accepted, and how it behaves now. */
export class Peer {
  /** `rejecting`: a TLS peer that fails every handshake, or refuses the session just after it. */
  mode: 'reading' | 'stalled' | 'refusing' | 'rejecting' = 'reading';
  readonly connections: PeerConnection[] = [];
  /** Non-empty messages delivered whole, by id; and empty frames delivered. */
  readonly delivered = new Set<number>();
  /** The same for the current run only (I4 compares them with what the run counted sent). */
  runDelivered = new Set<number>();
  runEmptyFrames = 0;

  constructor(
    readonly framing: FramingName,
    readonly upEvent: UpEvent,
    /** TLS: the server accepts or refuses the session after the handshake (TLS 1.3, client certificates). */
    readonly verdict: boolean,
  ) {}

  get current(): PeerConnection | undefined {
    const last = this.connections.at(-1);
    return last && !last.socket.destroyed && !last.record.ended ? last : undefined;
  }

  /** I2: decodes what arrived since the last check. */
  check(): void {
    for (const c of this.connections) {
      while (c.decodedChunks < c.record.bytes.length) {
        const frames = c.decoder.push(c.record.bytes[c.decodedChunks++]!);
        for (const frame of frames) {
          if (frame.length === 0) {
            this.runEmptyFrames++;
            continue;
          }
          const id = idOf(Buffer.from(frame));
          if (id <= c.lastId) throw new Error(`connection ${c.record.id}: message ${id} after ${c.lastId} (order or duplicate)`);
          c.lastId = id;
          this.delivered.add(id);
          this.runDelivered.add(id);
        }
      }
    }
  }

  acceptedBytes(since: number): number {
    let sum = 0;
    for (const c of this.connections.slice(since)) sum += c.record.acceptedBytes;
    return sum;
  }
}

/** What a spill directory would replay, read without confirming anything: how many records, and the ids of the non-empty ones in order. */
export async function readSpillIds(dir: string, maxRecordBytes: number): Promise<{ count: number; ids: number[] }> {
  const store = await SpillStore.open(dir, { maxBytes: 1 << 30, segmentBytes: 64 * 1024, maxRecordBytes, onCorrupt: () => {} });
  const payloads: Buffer[] = [];
  for (let batch = await store.readBatch(64 * 1024); batch; batch = await store.readBatch(64 * 1024)) payloads.push(...batch.payloads);
  await store.close();
  return { count: payloads.length, ids: payloads.filter((p) => p.length > 0).map(idOf) };
}

/** What a schedule does to the network, shared by the simulations (each draws from `random` in the same order). */
export const network = {
  /** The peer, if reading, takes up to 512 bytes or 128 KiB of what its connection was sent. */
  read(peer: Peer, random: () => number): void {
    if (peer.mode === 'reading') peer.current?.socket.take(randomInt(random, 1, random() < 0.5 ? 512 : 128 * 1024));
  },
  /** One to four pending events of one socket fire. */
  fire(peers: readonly Peer[], random: () => number): void {
    const sockets = peers.flatMap((p) => p.connections.map((c) => c.socket)).filter((s) => s.pending.length > 0);
    if (sockets.length === 0) return;
    const socket = sockets[Math.floor(random() * sockets.length)]!;
    for (let n = randomInt(random, 1, 4); n > 0 && socket.fireOne(); n--);
  },
  /** The peer starts reading, stalls, refuses connections or (TLS) rejects handshakes. */
  changeMode(peer: Peer, random: () => number): void {
    const modes =
      peer.upEvent === 'connect'
        ? (['reading', 'reading', 'stalled', 'refusing'] as const)
        : (['reading', 'reading', 'stalled', 'refusing', 'rejecting'] as const);
    peer.mode = modes[Math.floor(random() * modes.length)]!;
  },
};

/**
 * The end of a seed: every peer reads again, and rounds of reading (each peer takes up to 1 MiB
 * and fires every pending callback), 50 ms on the clock, settled disk I/O, `serve` and `check`
 * run until `done()`, at most 5000 rounds. The caller then asserts what `done` says.
 */
export async function readToTheEnd(
  peers: Peer[],
  clock: FakeClock,
  run: { done(): boolean; settle(): Promise<void>; serve(): void; check(): void },
): Promise<void> {
  for (const p of peers) p.mode = 'reading';
  for (let round = 0; round < 5000; round++) {
    if (run.done()) break;
    for (const p of peers) {
      p.current?.socket.take(1024 * 1024);
      for (const c of p.connections) while (c.socket.fireOne());
    }
    clock.advance(50);
    await run.settle();
    run.serve();
    run.check();
  }
}

/**
 * readToTheEnd for destinations served directly (the egress and group simulations): done once
 * every one is up and caught up with the tail, each round serving them all. Returns the index of
 * one that still has not caught up (-1: none) for the caller to fail with.
 */
export async function readDestinationsToTheEnd(
  peers: Peer[],
  clock: FakeClock,
  destinations: readonly Destination[],
  reader: RingReader,
  run: { settle(): Promise<void>; check(): void },
): Promise<number> {
  await readToTheEnd(peers, clock, {
    done: () => destinations.every((dest) => dest.caughtUp(reader.loadTail()) && dest.isUp),
    settle: run.settle,
    serve: () => {
      for (const dest of destinations) dest.service(reader.loadTail());
    },
    check: run.check,
  });
  const tail = reader.loadTail();
  return destinations.findIndex((dest) => !dest.caughtUp(tail));
}
