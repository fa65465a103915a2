/**
 * Runs one chaos schedule against the real `bin/relay` and real receivers, then hands what it saw
 * to the ledger (./ledger.ts). The relay gets traffic while the schedule's faults hit at their
 * times; then every receiver comes back, the relay catches up and is stopped with SIGTERM (it must
 * exit 0), and with a spill directory a second run of the relay replays what the first left.
 * Every process and the temp directory are gone when it returns, whatever happened.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DestinationSnapshot } from '../../src/metrics/snapshot-types.js';
import { freeUdpPort, numberOf } from '../helpers/numbered.js';
import { TestSink } from '../helpers/sinks.js';
import { checkLedger, type IdentityFacts } from './ledger.js';
import { Receiver } from './receivers.js';
import { chaosToml, RelayRun } from './relay-run.js';
import type { ConfigState, Fault, Schedule } from './schedule.js';
import { spillLeft } from './spill-left.js';
import { GROUP, Timeline } from './timeline.js';
import { Traffic } from './traffic.js';

const WITNESS = 'witness';
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `done` every `everyMs` until it holds or `timeoutMs` passed; true if it held. */
async function until(done: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await delay(everyMs);
  }
  return false;
}

/** The verdict: failures (empty when it passed) and one line of what happened. */
export interface Outcome {
  failures: string[];
  summary: string;
}

export async function runSchedule(schedule: Schedule): Promise<Outcome> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `relay-chaos-${schedule.seed}-`));
  const receivers = new Map(schedule.receivers.map((plan) => [plan.id, new Receiver(plan, dir)]));
  let witness: TestSink | undefined;
  let relay: RelayRun | undefined;
  let traffic: Traffic | undefined;
  try {
    witness = await TestSink.start('lf');
    const witnessName = witness.address(true);
    for (const r of receivers.values()) await r.start();
    const byName = new Map<string, string>([[witnessName, WITNESS], ...[...receivers.values()].map((r): [string, string] => [r.name, r.plan.id])]);
    const configFile = path.join(dir, 'relay.toml');
    const spillDir = schedule.spill ? path.join(dir, 'spill') : undefined;
    const toml = (state: ConfigState, listen: string): string =>
      chaosToml(
        { listen, bufferBytes: schedule.bufferBytes, spillDir, inputs: state.inputs },
        [witnessName, ...state.plain.map((id) => receivers.get(id)!.address)],
        state.group && { ...state.group, members: state.group.members.map((id) => receivers.get(id)!.address) },
      );
    // The file names the listener's real port from the start: a reload of udp@127.0.0.1:0 would be another listener (closed, bound again, counters new).
    const listen = `udp@127.0.0.1:${await freeUdpPort()}`;
    await writeFile(configFile, toml(schedule.initial, listen));
    const first = await RelayRun.start(configFile);
    relay = first;
    const timeline = new Timeline({ ...schedule.initial, plain: [WITNESS, ...schedule.initial.plain] });
    const sink = witness;
    traffic = new Traffic(first.listener, schedule.messageBytes, (count, timeoutMs) =>
      sink.waitUntil(() => sink.messages.length >= count, `${count} messages`, timeoutMs),
    );
    const loss = new Map<string, number | undefined>();

    // /stats polls and reloads take turns: an entry is always credited to the incarnation it belongs to.
    let turn: Promise<unknown> = Promise.resolve();
    const inTurn = <T>(action: () => Promise<T>): Promise<T> => {
      const result = turn.then(action);
      turn = result.catch(() => {});
      return result;
    };
    const observe = (destinations: DestinationSnapshot[]): void => {
      for (const d of destinations) timeline.observe(byName.get(d.name)!, d);
    };
    let polling = true;
    const poller = (async () => {
      while (polling && first.alive) {
        await inTurn(async () => observe((await first.stats()).destinations)).catch(() => {});
        await delay(250);
      }
    })();

    const sentSoFar = async (r: Receiver): Promise<number | undefined> => {
      const retired = first.retired().filter((line) => line.name === r.name);
      if (retired.length < timeline.endedCount(r.plan.id)) return undefined; // a removed incarnation still drains: its count is unknown
      const live = (await first.stats()).destinations.find((d) => d.name === r.name);
      return retired.reduce((s, line) => s + line.sent, 0) + (live?.sentMessages ?? 0);
    };

    /** Ends `r`'s life; for tcp@, measures what the relay counted sent and the receiver never wrote out: what this kill may cost. */
    const endReceiver = async (r: Receiver, signal: NodeJS.Signals): Promise<void> => {
      await r.end(signal);
      if (r.plan.kind !== 'tcp') return;
      await until(async () => !(await first.stats()).destinations.some((d) => d.name === r.name && d.up), 3000, 20);
      const sent = await sentSoFar(r);
      loss.set(r.plan.id, sent === undefined ? undefined : Math.max(0, sent - new Set(await r.numbers()).size));
    };

    const act = async (fault: Fault): Promise<void> => {
      switch (fault.kind) {
        case 'reload':
          await inTurn(async () => {
            const before = await first.stats();
            observe(before.destinations);
            const window = await first.reload(configFile, toml(fault.state, listen));
            timeline.apply({ ...fault.state, plain: [WITNESS, ...fault.state.plain] }, { lo: window.before, hi: window.after });
          });
          return;
        case 'burst':
          traffic!.burst(fault.messages);
          return;
        case 'stop': {
          const r = receivers.get(fault.receiver)!;
          r.pause();
          await delay(fault.pausedMs);
          r.resume();
          return;
        }
        case 'stop-kill': {
          const r = receivers.get(fault.receiver)!;
          r.pause();
          await delay(fault.pausedMs);
          await endReceiver(r, 'SIGKILL');
          await delay(fault.downMs);
          await r.start();
          return;
        }
        case 'restarts': {
          const r = receivers.get(fault.receiver)!;
          for (let i = 0; i < fault.times && first.alive; i++) {
            await endReceiver(r, 'SIGTERM');
            await delay(fault.downMs);
            await r.start();
            // Up long enough for the relay to reconnect and send again.
            await delay(300);
          }
          return;
        }
        default: {
          const r = receivers.get(fault.receiver)!;
          await endReceiver(r, fault.kind === 'kill' ? 'SIGKILL' : 'SIGTERM');
          await delay(fault.downMs);
          await r.start();
        }
      }
    };

    const startedMs = Date.now();
    const faults = schedule.steps.map(async (step) => {
      await delay(startedMs + step.atMs - Date.now());
      if (!first.alive) return;
      await act(step.fault);
    });
    const sending = traffic.run(schedule.rate, schedule.durationMs);
    const settled = await Promise.allSettled([sending, ...faults]);
    polling = false;
    await poller;
    if (!first.alive) return { failures: [`the relay died under the schedule: ${first.exitText()}`], summary: 'relay died' };
    const harness = settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason));
    if (harness.length > 0) return { failures: harness.map((h) => `schedule step failed: ${h}`), summary: 'a step failed' };

    // Everyone back: the relay catches up, finishes its removed destinations, and stops.
    for (const r of receivers.values()) {
      r.resume();
      await r.start();
    }
    await until(async () => (await first.stats()).destinations.every((d) => d.up && d.lagMessages === 0 && d.unconfirmedMessages === 0), 15_000);
    const removed = sum([...timeline.incarnations.values()].map((list) => list.filter((i) => i.ended).length));
    await first.waitRetired(removed, 10_000);
    const stopped = await first.stop();
    const ingested = stopped.received;
    timeline.end(ingested);
    const runs: DestinationSnapshot[][] = [stopped.destinations];
    const retired = first.retired();

    const configured = [WITNESS, ...timeline.configured().filter((id) => id !== WITNESS)];
    const names = new Map([...byName].map(([name, id]) => [id, name]));
    const leftOnDisk = async (): Promise<Map<string, number[]>> => {
      const left = new Map<string, number[]>();
      if (!spillDir) return left;
      for (const [id, name] of names) {
        const [scheme, port] = [name.startsWith('relp@') ? 'relp' : 'tcp', Number(/:(\d+)/.exec(name)![1])] as const;
        left.set(id, await spillLeft(spillDir, { scheme, port }));
      }
      return left;
    };
    let onDisk = await leftOnDisk();
    if (configured.some((id) => (onDisk.get(id)?.length ?? 0) > 0)) {
      // A second run replays what the first left, to receivers that are all up.
      const second = await RelayRun.start(configFile);
      relay = second;
      let replayed = -1;
      await until(
        async () => {
          const s = await second.stats();
          const now = sum(s.destinations.map((d) => d.replayedMessages));
          const idle = s.destinations.every((d) => d.up && d.lagMessages === 0 && d.unconfirmedMessages === 0) && now === replayed;
          replayed = now;
          return idle;
        },
        15_000,
        300,
      );
      runs.push((await second.stop()).destinations);
      onDisk = await leftOnDisk();
    }

    // Receivers write out what they have, then stop; their output is then complete.
    const sentTo = (name: string): number =>
      sum(
        runs
          .flat()
          .filter((d) => d.name === name)
          .map((d) => d.sentMessages),
      ) + sum(retired.filter((l) => l.name === name).map((l) => l.sent));
    await sink.waitUntil(() => sink.messages.length >= sentTo(witnessName), 'everything sent', 10_000).catch(() => {});
    for (const r of receivers.values()) {
      let last = -1;
      await until(
        async () => {
          const unique = new Set(await r.numbers()).size;
          const done = unique >= sentTo(r.name) || unique === last;
          last = unique;
          return done;
        },
        10_000,
        500,
      );
      await r.finish();
    }

    const identities: IdentityFacts[] = [];
    for (const [id, name] of names) {
      const r = receivers.get(id);
      const incarnations = timeline.incarnations.get(id) ?? [];
      const finals = runs.flat().filter((d) => d.name === name);
      const retiredLines = retired.filter((l) => l.name === name);
      const removedSeen = incarnations.filter((i) => i.ended).map((i) => i.lastSeen);
      const exactly = (value: (d: DestinationSnapshot) => number): number | undefined =>
        removedSeen.some((seen) => seen === undefined) ? undefined : sum([...finals, ...(removedSeen as DestinationSnapshot[])].map(value));
      const dropped: Record<string, number> = {};
      for (const counts of [...finals.map((d) => d.droppedMessages as Record<string, number>), ...retiredLines.map((l) => l.dropped)]) {
        for (const [reason, n] of Object.entries(counts)) if (n > 0) dropped[reason] = (dropped[reason] ?? 0) + n;
      }
      const takenOver = exactly((d) => d.takenOverMessages);
      identities.push({
        id,
        kind: r?.plan.kind ?? 'witness',
        target: r?.plan.role === 'member' ? GROUP : id,
        port: Number(/:(\d+)/.exec(name)![1]),
        instance: r?.plan.instance,
        sent: sum([...finals, ...retiredLines].map((d) => ('sentMessages' in d ? d.sentMessages : d.sent))),
        dropped,
        // A removed incarnation may resend or reconnect while it drains, after its last /stats entry: one more connection each.
        resent: removedSeen.length === 0 ? exactly((d) => d.resentMessages) : undefined,
        connects: removedSeen.length === 0 ? exactly((d) => d.connects) : undefined,
        takenOver,
        handedOver: sum([...finals.map((d) => d.handedOverMessages), ...retiredLines.map((l) => l.handedOver)]),
        received: r ? await r.numbers() : sink.messages.map(numberOf),
        onDisk: onDisk.get(id) ?? [],
        tcpLossAllowed: loss.has(id) ? loss.get(id) : 0,
      });
    }
    const failures = checkLedger({
      spill: schedule.spill,
      messageBytes: schedule.messageBytes,
      sentDatagrams: traffic.sent,
      ingested,
      identities,
      timeline,
      // A ring item of a message is at most 64 bytes (48 of payload, its length, alignment).
      witnessMayDrop: schedule.steps.some(({ fault }) => fault.kind === 'burst' && fault.messages * 64 > schedule.bufferBytes / 4),
    });
    const held = sum([...onDisk.values()].map((n) => n.length));
    return { failures, summary: `${traffic.sent} sent, ${ingested} ingested, ${removed} removed, ${runs.length} relay run(s), ${held} held on disk` };
  } catch (error) {
    const last = relay ? ` (relay: ${relay.exitText()})` : '';
    return { failures: [`${(error as Error).message}${last}`], summary: 'aborted' };
  } finally {
    traffic?.close();
    await relay?.kill().catch(() => {});
    for (const r of receivers.values()) await r.kill().catch(() => {});
    await witness?.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

function sum(values: number[]): number {
  return values.reduce((s, v) => s + v, 0);
}
