/**
 * The routes of the ring's items, in the egress thread: each item is decided once, by the rules
 * in force for it, and every destination asks here which items are its to send (RouteView).
 *
 * Rules are fixed per item id (its number in the ring's history) by stretches, as a group's
 * members are (src/group/group.ts): a reload's rules apply from `fromId` on, at or past every
 * destination's cursor, so no item's routes change after any destination may have acted on it.
 * Decisions are remembered by id (CACHE_SIZE of them): destinations reading the same items near
 * each other decide each one once; one further behind decides again, with the same rules, and
 * the same result. Outcomes and rule matches are counted once per item: only the first time an
 * id past every one counted so far is decided.
 */
import type { RateLimitedLog } from '../logging.js';
import type { RingReader } from '../ring/ring-reader.js';
import type { RouteCounters } from '../metrics/route-counters.js';
import { type RouteDecision, Router } from './router.js';
import type { RouteSpec } from './route-spec.js';

/** Items whose decisions are remembered (as src/group/group.ts remembers owners). */
const CACHE_SIZE = 65_536;

/** See the module comment. */
export class RouteTable {
  /** From item `fromId` on, these rules (undefined: none, every destination gets every item). */
  private readonly stretches: { fromId: number; router: Router | undefined }[];
  private readonly cachedIds = new Float64Array(CACHE_SIZE).fill(-1);
  private readonly cached: (RouteDecision | undefined)[] = new Array(CACHE_SIZE);
  /** The highest item id counted. */
  private countedTo = -1;

  constructor(
    spec: RouteSpec | undefined,
    private readonly counters: RouteCounters,
    private readonly log: RateLimitedLog,
  ) {
    this.stretches = [{ fromId: 0, router: routerFor(spec) }];
  }

  /** The rules in force for new items. */
  get current(): Router | undefined {
    return this.stretches[this.stretches.length - 1]!.router;
  }

  /** True when some item from `fromId` on may be routed (else every destination gets them all). */
  routesFrom(fromId: number): boolean {
    for (let i = this.stretches.length - 1; i >= 0; i--) {
      const s = this.stretches[i]!;
      if (s.router) return true;
      if (s.fromId <= fromId) return false;
    }
    return false;
  }

  /** Item `id`'s routes (its payload is `payload`); undefined when no rules apply to it. */
  decision(id: number, payload: Uint8Array): RouteDecision | undefined {
    const router = this.routerOf(id);
    if (!router) return undefined;
    const slot = id % CACHE_SIZE;
    if (this.cachedIds[slot] === id) return this.cached[slot];
    const decision = router.decide(payload);
    this.cachedIds[slot] = id;
    this.cached[slot] = decision;
    if (id > this.countedTo) {
      this.countedTo = id;
      this.counters.outcome(decision.outcome);
      for (const rule of decision.matched) this.counters.matched(rule);
      if (decision.logged !== undefined) this.log.log('warn', 'route-validate', `dropping metric due to validation error: ${decision.logged}`);
    }
    return decision;
  }

  /** A view for the destinations (or the group) that rules send to by `name`. */
  viewFor(name: string): RouteView {
    return new RouteView(this, name);
  }

  /**
   * New rules (`spec`, checked by the main thread) from item `fromId` on, at or past every
   * destination's cursor; stretches below `oldestNeeded` (every destination's cursor) are let go.
   */
  reconfigure(spec: RouteSpec | undefined, fromId: number, oldestNeeded: number): void {
    if (JSON.stringify(spec) === JSON.stringify(this.current?.spec)) return; // unchanged: its counters go on
    const router = routerFor(spec);
    this.stretches.push({ fromId, router });
    while (this.stretches.length > 1 && this.stretches[1]!.fromId <= oldestNeeded) this.stretches.shift();
    this.counters.rulesChanged();
  }

  private routerOf(id: number): Router | undefined {
    for (let i = this.stretches.length - 1; i > 0; i--) if (this.stretches[i]!.fromId <= id) return this.stretches[i]!.router;
    return this.stretches[0]!.router;
  }
}

/** The egress thread's router for `spec` (its names were checked when the configuration was read). */
export function routerFor(spec: RouteSpec | undefined): Router | undefined {
  return spec && new Router(spec, undefined);
}

/** One destination's (or group's) view of the routes: which items are its to send, with what bytes. */
export class RouteView {
  constructor(
    private readonly table: RouteTable,
    /** The name rules send to it by. */
    readonly name: string,
  ) {}

  /** True when some item from `fromId` on may not be its (or not as the ring holds it). */
  filters(fromId: number): boolean {
    return this.table.routesFrom(fromId);
  }

  /**
   * Replaces `batch` (payloads of consecutive items from `firstId`) with what it gets of them, in
   * order (an item twice when two rules sent it here; rewritten bytes when a rule rewrote it);
   * `ids` gets each kept payload's item id. Returns how many items it got nothing of.
   */
  /** keep() of a ring run (ItemFilter.select): every item's payload is needed to decide it. */
  select(reader: RingReader, start: number, end: number, firstId: number, out: Uint8Array[], ids: number[]): number {
    reader.payloads(start, end, out);
    return this.keep(out, firstId, ids);
  }

  keep(batch: Uint8Array[], firstId: number, ids?: number[]): number {
    const items = batch.length;
    const out: Uint8Array[] = [];
    let others = 0;
    for (let i = 0; i < items; i++) {
      const decision = this.table.decision(firstId + i, batch[i]!);
      if (!decision) {
        out.push(batch[i]!);
        ids?.push(firstId + i);
        continue;
      }
      let got = false;
      for (let t = 0; t < decision.targets.length; t++) {
        if (decision.targets[t] !== this.name) continue;
        out.push(decision.payloads ? decision.payloads[t]! : batch[i]!);
        ids?.push(firstId + i);
        got = true;
      }
      if (!got) others++;
    }
    batch.length = 0;
    for (const p of out) batch.push(p);
    return others;
  }
}
