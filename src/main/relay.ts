/**
 * The main thread's side of a running relay: allocates the shared ring and counters, starts the
 * background, egress and ingest threads, applies reloads (reload(): listeners first, the step
 * that can fail, then destinations) and runs the stop sequence (stop ingest, drain egress, stop
 * background). It holds no datagram path itself. Listeners and destinations live in slots
 * (MAX_LISTENERS, DESTINATION_SLOTS): the index of their counter block and RELEASED slot.
 */
import type { Worker } from 'node:worker_threads';
import { viewRing, type RingBuffers } from '../ring/layout.js';
import type { BackgroundThread } from '../background/background.js';
import { ensureWritableDirectory } from '../spill/spill-options.js';
import { lockSpillRoot, type SpillLock } from '../spill/dir-lock.js';
import { RelayError } from '../errors.js';
import { DESTINATION_SLOTS, MAX_LISTENERS, type RelayConfig } from '../config/config.js';
import { destinationName, destinationOptionsFor, listenerOptionsFor } from './thread-options.js';
import { frozenForReload, planReload, type ReloadPlan } from './reload-plan.js';
import { SlotTable } from './slot-table.js';
import { nextMessage, request, startThreads, type RelayThreads } from './threads.js';
import type { LogSink } from '../logging.js';
import { readBeats } from '../service/heartbeat.js';
import type { ServiceThreads } from '../service/service.js';
import { takeSnapshot } from '../metrics/snapshot.js';
import type { Snapshot } from '../metrics/snapshot-types.js';
import type { BoundListener, FromEgress, FromIngest, ToEgress, RetiredReport, ToIngest } from '../thread-protocol.js';

/** What a graceful stop left undelivered, per destination. */
export interface StopReport {
  undelivered: { name: string; messages: number }[];
}

/** What a reload did, for the log. */
export interface ReloadReport {
  addedListeners: BoundListener[];
  removedListeners: string[];
  addedDestinations: string[];
  removedDestinations: string[];
  /** Destinations that stayed and reconnect because their TLS settings changed. */
  reconnectedDestinations: string[];
  /** Settings that changed but apply only after a restart. */
  ignored: string[];
}

/** A started relay. */
export class Relay {
  private stopping: Promise<StopReport> | undefined;
  /** Reloads and the stop run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly startedMs = Date.now();
  /** The reload being applied, if one is. */
  private applying: Promise<ReloadReport> | undefined;
  /** Reloads applied and refused (relay_config_reloads_total). */
  private readonly reloads = { ok: 0, failed: 0 };
  /** Every listener and destination slot (src/main/slot-table.ts): the main thread's one record of them. */
  private readonly slots = new SlotTable(DESTINATION_SLOTS);
  /** The --spill-dir lock (src/spill/dir-lock.ts): held until no thread can write there any more. */
  private spillLock: SpillLock | undefined;

  private readonly ring: RingBuffers;
  private readonly countersBuffer: SharedArrayBuffer;
  private readonly ingest: Worker;
  private readonly egress: Worker;
  private readonly background: BackgroundThread;
  /** Kernel thread id of each relay thread, as each reported it. */
  private readonly threadIds: Map<string, number>;

  private constructor(
    private currentConfig: RelayConfig,
    private readonly log: LogSink,
    threads: RelayThreads,
  ) {
    ({
      ring: this.ring,
      counters: this.countersBuffer,
      ingest: this.ingest,
      egress: this.egress,
      background: this.background,
      threadIds: this.threadIds,
    } = threads);
    const { listening, egress } = threads;
    for (const [slot, endpoint] of currentConfig.listeners.entries()) this.slots.setListener(slot, { endpoint, bound: listening[slot]! });
    for (const [slot, d] of currentConfig.destinations.entries()) this.slots.addDestination(slot, d);
    egress.on('message', (m: FromEgress) => {
      if (m.type !== 'retired') return;
      const config = this.slots.retired(m.index);
      if (!config) {
        this.log('error', `internal: the egress thread reported slot ${m.index} retired, but it was not retiring; ignored`);
        return;
      }
      const line = (): void => this.log(m.messages > 0 ? 'warn' : 'info', retiredLine(config.endpoint.text, m));
      // A removed destination that was down finishes before its reload is logged: keep the log in order.
      const later = (): void => void setImmediate(line);
      if (this.applying) this.applying.then(later, later);
      else line();
    });
  }

  /** The configuration running now (the last reload's, with the settings fixed at start). */
  get config(): RelayConfig {
    return this.currentConfig;
  }

  /** Every listener bound now, in the order they were added. */
  get listening(): BoundListener[] {
    return [...this.slots.listeners.values()].map((l) => l.bound);
  }

  /**
   * Starts the three threads and binds every listener. Rejects with RelayError('ERR_BIND') when
   * a listener cannot bind, ERR_RESOLVE when its host name does not resolve, ERR_SPILL when
   * --spill-dir cannot be used or another relay holds it (nothing is left running then). `onFatal` is called if a thread dies.
   * `service`: what systemd asks of the threads (src/service/service.ts); by default nothing.
   */
  static async start(
    config: RelayConfig,
    log: LogSink,
    onFatal: (error: Error) => void,
    service: ServiceThreads = { heartbeatMs: 0, activated: [] },
  ): Promise<Relay> {
    if (config.spill) await ensureWritableDirectory(config.spill.dir);
    const spillLock = config.spill ? await lockSpillRoot(config.spill.dir) : undefined;
    if (spillLock?.tookOver) log('warn', spillLock.tookOver);
    const threads = await startThreads(config, log, onFatal, service).catch(async (error: unknown) => {
      await spillLock?.release();
      throw error;
    });
    const relay = new Relay(config, log, threads);
    relay.spillLock = spillLock;
    return relay;
  }

  /**
   * Moves the running relay to `next` (see ./reload-plan.ts for what changes how).
   * Listeners change first: if one cannot bind, the reload rejects with RelayError('ERR_BIND')
   * and nothing changed (unless a listener it closed could not re-open: the message names it).
   * Settings fixed at start keep their running value (reported in `ignored`).
   */
  reload(next: RelayConfig): Promise<ReloadReport> {
    const result = this.serially(() => {
      const applying = this.applyReload(next);
      this.applying = applying;
      const clear = (): void => {
        if (this.applying === applying) this.applying = undefined;
      };
      applying.then(clear, clear);
      return applying;
    });
    result.then(
      () => this.reloads.ok++,
      () => this.reloads.failed++,
    );
    return result;
  }

  /** A reload that failed before it reached the relay (the file did not read or check): counted. */
  reloadRefused(): void {
    this.reloads.failed++;
  }

  private async applyReload(next: RelayConfig): Promise<ReloadReport> {
    if (this.stopping) throw new RelayError('ERR_INTERNAL', 'the relay is stopping');
    const plan = planReload(this.currentConfig, this.slots, next);
    // The settings fixed at start stay as they run; everything else is the new configuration.
    const config = frozenForReload(this.currentConfig, next);
    const listeners = await this.reloadListeners(config, plan);
    const destinations = await this.reloadDestinations(config, plan);
    this.currentConfig = config;
    return { ...listeners, ...destinations, ignored: plan.ignored };
  }

  /** Step 1, the one that can fail: the ingest thread binds the added listeners, then closes the removed ones. */
  private async reloadListeners(config: RelayConfig, plan: ReloadPlan): Promise<Pick<ReloadReport, 'addedListeners' | 'removedListeners'>> {
    const change = {
      add: plan.listeners.add.map(({ slot, endpoint }) => listenerOptionsFor(config, endpoint, slot)),
      remove: plan.listeners.remove,
      allow: config.allow,
      deny: config.deny,
      tls: config.listenerTls,
      limits: config.inputLimits,
    };
    const reply = await request<FromIngest>(
      this.ingest,
      {
        type: 'reconfigure',
        change,
        destinations: plan.destinations.add.map(({ slot, destination }) => destinationName(destination, slot)),
      } satisfies ToIngest,
      (m) => m.type === 'reconfigured' || m.type === 'reconfigure-failed',
    );
    if (reply.type === 'reconfigure-failed') {
      // A listener the failed reload could not re-open is gone (the message says so): no longer listed.
      for (const slot of reply.closed) this.slots.removeListener(slot);
      throw new RelayError('ERR_BIND', reply.message);
    }
    if (reply.type !== 'reconfigured') throw new RelayError('ERR_INTERNAL', 'ingest thread sent no reconfigure report');
    const removedListeners = plan.listeners.remove.map((slot) => this.slots.removeListener(slot)!.bound.text);
    for (const [i, { slot, endpoint }] of plan.listeners.add.entries()) this.slots.setListener(slot, { endpoint, bound: reply.listeners[i]! });
    return { addedListeners: reply.listeners, removedListeners };
  }

  /** Step 2: the slot table first (egress's `retired` reports may come before its reply), then the egress thread. */
  private async reloadDestinations(
    config: RelayConfig,
    plan: ReloadPlan,
  ): Promise<Pick<ReloadReport, 'addedDestinations' | 'removedDestinations' | 'reconnectedDestinations'>> {
    const running = this.slots.running();
    const reconnectedDestinations = plan.destinations.keep
      .filter(({ slot, destination }) => destination.tls?.fingerprint !== running.get(slot)!.tls?.fingerprint)
      .map(({ destination }) => destination.endpoint.text);
    const removedDestinations = this.slots.applyDestinations(plan.destinations).map((d) => d.endpoint.text);
    const change = {
      add: plan.destinations.add.map(({ slot, destination }) => destinationOptionsFor(config, destination, slot)),
      remove: plan.destinations.remove,
      update: plan.destinations.keep.map(({ slot, destination }) => destinationOptionsFor(config, destination, slot)),
      routes: config.routes,
    };
    await request<FromEgress>(
      this.egress,
      { type: 'reconfigure', change, drainTimeoutMs: config.drainTimeoutMs } satisfies ToEgress,
      (m) => m.type === 'reconfigured',
    );
    return { addedDestinations: plan.destinations.add.map(({ destination }) => destination.endpoint.text), removedDestinations, reconnectedDestinations };
  }

  /** Runs `task` after every reload or stop queued before it. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Appends the relay's own messages to the ring (ingest does: it owns the tail), unless it is stopping. */
  inject(messages: string[]): void {
    if (this.stopping || messages.length === 0) return;
    this.ingest.postMessage({ type: 'inject', messages } satisfies ToIngest);
  }

  /** Each thread's heartbeat count, for systemd's watchdog (src/service/heartbeat.ts). */
  threadBeats(): number[] {
    return readBeats(new Int32Array(this.ring.control));
  }

  /** Every number the relay reports, now (counters may be a moment stale). */
  snapshot(): Promise<Snapshot> {
    return takeSnapshot({
      views: viewRing(this.ring),
      counters: this.countersBuffer,
      listenerSlots: MAX_LISTENERS,
      listeners: [...this.slots.listeners].map(([index, l]) => ({ index, name: l.bound.text, reusePort: l.bound.reusePort })),
      destinations: [...this.slots.running()].map(([index, d]) => ({ index, name: d.endpoint.text, group: d.member?.group.name })),
      threads: [...this.threadIds].map(([name, tid]) => ({ name, tid })),
      startedMs: this.startedMs,
      udpIngest: this.config.udpIngest,
      ingestRunning: () => this.stopping === undefined,
      reloads: this.reloads,
      routes: this.config.routes?.rules.map((r) => r.where),
    });
  }

  /**
   * Graceful stop: close the listeners, drain the ring to every connected destination for at
   * most `config.drainTimeoutMs`, then end the threads. Idempotent.
   */
  stop(): Promise<StopReport> {
    this.stopping ??= this.serially(() => this.runStop());
    return this.stopping;
  }

  /** Ends every thread at once, delivering nothing more. */
  async kill(): Promise<void> {
    await Promise.all([this.ingest.terminate(), this.egress.terminate(), this.background.stop()]);
    await this.spillLock?.release();
  }

  private async runStop(): Promise<StopReport> {
    const stopped = nextMessage<FromIngest>(this.ingest, (m) => m.type === 'stopped');
    this.ingest.postMessage({ type: 'stop' } satisfies ToIngest);
    await stopped;
    const drained = nextMessage<FromEgress>(this.egress, (m) => m.type === 'drained');
    this.egress.postMessage({ type: 'drain', timeoutMs: this.currentConfig.drainTimeoutMs } satisfies ToEgress);
    const report = await drained;
    if (report.type !== 'drained') throw new RelayError('ERR_INTERNAL', 'egress thread sent no drain report');
    await Promise.all([this.ingest.terminate(), this.egress.terminate(), this.background.stop()]);
    await this.spillLock?.release();
    const names = new Map([...this.slots.destinations].map(([slot, d]) => [slot, d.config.endpoint.text]));
    return {
      undelivered: report.undelivered.map(({ index, messages }) => ({ name: names.get(index) ?? `a removed destination (slot ${index})`, messages })),
    };
  }
}

/** The line a removed destination leaves when it finished: its whole run, since its numbers leave /metrics now. */
export function retiredLine(name: string, r: RetiredReport): string {
  const reasons = Object.entries(r.dropped).map(([reason, n]) => `${reason} ${n}`);
  const dropped = Object.values(r.dropped).reduce((sum, n) => sum + (n ?? 0), 0);
  const tally = `sent ${r.sent}, dropped ${dropped}${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}, spilled ${r.spilled}${r.handedOver > 0 ? `, handed over ${r.handedOver}` : ''}`;
  return `${name}: removed${r.messages > 0 ? `; ${r.messages} message(s) undelivered (not spilled)` : ', nothing left undelivered'}; its run: ${tally}`;
}
