/**
 * One chaos schedule, generated from a seed alone (the one PRNG, test/helpers/prng.ts): which
 * receivers run, how the relay is configured at start and at each SIGHUP, and which fault hits
 * when. The same seed gives the same schedule, so a failing seed is a one-line replay; what the
 * processes do with it is real and may differ in timing from run to run.
 */
import { type GroupMode, isHashMode } from '../../src/group/group-spec.js';
import { mulberry32, randomInt } from '../helpers/prng.js';

export type ReceiverKind = 'tcp' | 'relp' | 'rsyslog';

/** One receiver: a plain destination for its whole schedule, or a member of group `g`. */
export interface ReceiverPlan {
  id: string;
  kind: ReceiverKind;
  role: 'plain' | 'member';
  /** A member's instance (carbon hashes place by host and instance). */
  instance?: string;
}

export interface GroupState {
  mode: GroupMode;
  dynamic: boolean;
  /** Receiver ids, always in the order of `Schedule.receivers` (a reordering is no change). */
  members: string[];
}

/**
 * Limits on input, changed by reloads beside the destinations. The traffic stays under them (one
 * source, far below the rate limit and its burst; no TCP input; the denied block is another
 * address), so they change no message's fate: they put those settings' reload paths under the faults.
 */
/** No limits: what the timeline starts from before a schedule's first state. */
export const NO_INPUT_LIMITS: InputState = { rateLimit: 0, maxConnections: 512, idleTimeoutMs: 0, deny: [] };

export interface InputState {
  rateLimit: number;
  maxConnections: number;
  idleTimeoutMs: number;
  deny: string[];
}

/** What the relay is configured with: the witness (always), these plain receivers, the group, the input limits. */
export interface ConfigState {
  plain: string[];
  group: GroupState | undefined;
  inputs: InputState;
}

export type Fault =
  | { kind: 'reload'; state: ConfigState }
  /** SIGKILL or SIGTERM the receiver, start it again on its port `downMs` later. */
  | { kind: 'kill' | 'term'; receiver: string; downMs: number }
  /** SIGSTOP the receiver (it stops reading), SIGCONT it `pausedMs` later. */
  | { kind: 'stop'; receiver: string; pausedMs: number }
  /** SIGSTOP the receiver, SIGKILL it `pausedMs` later (the ring passes 3/4, then 7/8), start it `downMs` after. */
  | { kind: 'stop-kill'; receiver: string; pausedMs: number; downMs: number }
  /** `times` SIGTERM restarts in a row, as `systemctl restart` does (rsyslog's imrelp sends serverclose). */
  | { kind: 'restarts'; receiver: string; times: number; downMs: number }
  /** Send this many datagrams back to back, past the ring when the ring is small. */
  | { kind: 'burst'; messages: number };

export interface Step {
  atMs: number;
  fault: Fault;
}

export interface Schedule {
  seed: number;
  spill: boolean;
  bufferBytes: number;
  messageBytes: number;
  /** Steady traffic, messages per second, for `durationMs`. */
  rate: number;
  durationMs: number;
  receivers: ReceiverPlan[];
  initial: ConfigState;
  steps: Step[];
}

/** Kinds of schedule content a run may leave out (`--without KIND`): see test/chaos/main.ts. */
export type Optional = 'rsyslog' | 'groups';

const MODES: GroupMode[] = ['failover', 'any-of', 'least-loaded', 'carbon_ch', 'fnv1a_ch', 'jump_fnv1a_ch'];

/** The schedule of `seed`; `without` removes rsyslog (not installed) or groups. */
export function generateSchedule(seed: number, without: ReadonlySet<Optional> = new Set()): Schedule {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[randomInt(random, 0, items.length - 1)]!;
  const chance = (p: number): boolean => random() < p;

  const receivers: ReceiverPlan[] = [
    { id: 'tcp1', kind: 'tcp', role: 'plain' },
    { id: 'tcp2', kind: 'tcp', role: 'plain' },
    { id: 'relp1', kind: 'relp', role: 'plain' },
  ];
  if (!without.has('rsyslog')) receivers.push({ id: 'rsyslog1', kind: 'rsyslog', role: 'plain' });
  if (!without.has('groups')) {
    for (const instance of ['a', 'b']) receivers.push({ id: `m${instance}`, kind: 'tcp', role: 'member', instance });
    receivers.push({ id: 'mc', kind: 'relp', role: 'member', instance: 'c' });
  }
  const plainIds = receivers.filter((r) => r.role === 'plain').map((r) => r.id);
  const memberIds = receivers.filter((r) => r.role === 'member').map((r) => r.id);

  const randomState = (): ConfigState => {
    const plain = plainIds.filter(() => chance(0.6));
    let group: GroupState | undefined;
    if (memberIds.length > 0 && chance(0.8)) {
      const members = memberIds.filter(() => chance(0.75));
      if (members.length === 0) members.push(pick(memberIds));
      const mode = pick(MODES);
      group = { mode, dynamic: isHashMode(mode) && chance(0.3), members };
    }
    const inputs: InputState = {
      rateLimit: chance(0.5) ? 0 : randomInt(random, 100_000, 1_000_000),
      maxConnections: randomInt(random, 1, 1024),
      idleTimeoutMs: chance(0.5) ? 0 : randomInt(random, 1000, 600_000),
      deny: chance(0.5) ? [] : ['127.0.0.9', '10.0.0.0/8'].slice(0, randomInt(random, 1, 2)),
    };
    return { plain, group, inputs };
  };

  const smallRing = chance(0.5);
  const durationMs = randomInt(random, 5000, 9000);
  const steps: Step[] = [];
  // One fault at a time per receiver: when each is free again.
  const busyUntil = new Map<string, number>();
  const count = randomInt(random, 6, 12);
  for (let i = 0; i < count; i++) {
    const atMs = randomInt(random, 200, durationMs - 500);
    const roll = random();
    if (roll < 0.25) {
      steps.push({ atMs, fault: { kind: 'reload', state: randomState() } });
    } else if (roll < 0.4) {
      steps.push({ atMs, fault: { kind: 'burst', messages: chance(0.5) ? randomInt(random, 100, 250) : randomInt(random, 1500, 3000) } });
    } else {
      const kind = pick(['kill', 'term', 'stop', 'stop-kill', 'restarts'] as const);
      // Restart storms go to RELP receivers, rsyslog above all: that is where a graceful close meets answers.
      const relp = receivers.filter((r) => r.kind !== 'tcp');
      const receiver = kind === 'restarts' ? (relp.find((r) => r.kind === 'rsyslog' && chance(0.7)) ?? pick(relp)).id : pick(receivers).id;
      const lasting = randomInt(random, 100, 2000);
      const times = randomInt(random, 2, 6);
      const busyMs = kind === 'restarts' ? times * 1000 : kind === 'stop-kill' ? 2 * lasting : lasting;
      if ((busyUntil.get(receiver) ?? 0) > atMs) continue;
      busyUntil.set(receiver, atMs + busyMs + 1000);
      if (kind === 'stop') steps.push({ atMs, fault: { kind, receiver, pausedMs: lasting } });
      else if (kind === 'stop-kill') steps.push({ atMs, fault: { kind, receiver, pausedMs: lasting, downMs: randomInt(random, 50, 500) } });
      else if (kind === 'restarts') steps.push({ atMs, fault: { kind, receiver, times, downMs: randomInt(random, 20, 300) } });
      else steps.push({ atMs, fault: { kind, receiver, downMs: lasting } });
    }
  }
  steps.sort((a, b) => a.atMs - b.atMs);
  return {
    seed,
    spill: chance(0.5),
    // 64 KiB holds ~1000 messages of 48 bytes: bursts and stopped receivers pass it.
    bufferBytes: smallRing ? 64 * 1024 : 4 * 1024 * 1024,
    messageBytes: 48,
    rate: randomInt(random, 1000, 3000),
    durationMs,
    receivers,
    initial: randomState(),
    steps,
  };
}

/** One line saying what a schedule holds (printed with each result). */
export function describeSchedule(s: Schedule): string {
  const faults = new Map<string, number>();
  for (const { fault } of s.steps) faults.set(fault.kind, (faults.get(fault.kind) ?? 0) + 1);
  const kinds = [...faults].map(([k, n]) => `${n} ${k}`).join(', ');
  return `${s.spill ? 'spill' : 'no spill'}, ring ${s.bufferBytes / 1024} KiB, ${s.rate}/s for ${s.durationMs} ms, ${kinds || 'no faults'}`;
}
