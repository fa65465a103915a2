/**
 * What a reload changes, decided from the running configuration and the new one (pure: the
 * Relay applies the plan through its threads). The rules users rely on:
 * - a listener or destination is matched by its identity (scheme, address, effective framing):
 *   one that stays keeps its socket, its slot, its cursor and its spill; one that is new gets a
 *   free slot; one that is gone is removed;
 * - a destination that stays gets its new timeouts, and reconnects when its TLS settings (files,
 *   their contents, servername) changed;
 * - settings the running ring and threads were built with are reported as ignored until restart.
 */
import { RelayError } from '../errors.js';
import type { Endpoint } from '../config/address.js';
import { MAX_LISTENERS, destinationKey, type DestinationConfig, type RelayConfig } from '../config/config.js';
import type { SlotTable } from './slot-table.js';
import type { FramingName } from '../framing/index.js';
import { formatBytes, formatDurationMs } from '../config/size.js';
import { formatUnixMode } from '../config/unix-socket.js';
import { restartOnlyKeys, type RestartOnlyKey } from '../config/setting-values.js';

export interface ReloadPlan {
  listeners: { add: { slot: number; endpoint: Endpoint }[]; remove: number[] };
  destinations: { add: { slot: number; destination: DestinationConfig }[]; remove: number[]; keep: { slot: number; destination: DestinationConfig }[] };
  /** One phrase per setting that changed but applies only after a restart. */
  ignored: string[];
}

/**
 * A listener's identity: scheme, address and the passed socket it names (?fdname=), for udp@ and unix@ how it splits datagrams, for tcp@
 * and tls@ the framing it decodes and the PROXY header it reads first, and for tls@ whether it
 * asks for client certificates (`clientCa`: --listen-tls-ca given). A reload that changes any of
 * these closes the listener and opens another, as for a moved one: a TLS server asks for client
 * certificates or not from its start.
 */
export function listenerIdentity(l: Endpoint, defaultFraming: FramingName, clientCa: boolean): string {
  const fd = l.fdname === undefined ? '' : ` fdname=${l.fdname}`;
  if (l.scheme === 'udp' || l.scheme === 'unix') return `${l.scheme}@${l.host}:${l.port} split=${l.split ?? 'none'}${fd}`;
  const tls = l.scheme === 'tls' ? ` client-certificates=${clientCa}` : '';
  return `${l.scheme}@${l.host}:${l.port} ${l.framing ?? defaultFraming} proxy=${l.proxy ?? 'none'}${tls}${fd}`;
}

/** What the reload does with one setting fixed at start (settings.ts, `applied: 'restart'`). */
interface RestartOnly {
  /** Its value as the "ignored until restart" phrase shows it. */
  show: (c: RelayConfig) => string;
  /** `next` with this setting as `running` has it: the ring and threads were built with that value. */
  keep: (running: RelayConfig, next: RelayConfig) => RelayConfig;
}

/**
 * One entry per restart-only row of the settings table, checked by the compiler: a new row that
 * does not say how to show and keep its running value does not build. The spill settings are one
 * object, fixed whole (its directory is locked and its stores are open).
 */
const RESTART_ONLY: Record<RestartOnlyKey, RestartOnly> = {
  buffer: { show: (c) => formatBytes(c.ringBytes), keep: (r, n) => ({ ...n, ringBytes: r.ringBytes }) },
  'max-message': { show: (c) => String(c.maxMessageBytes), keep: (r, n) => ({ ...n, maxMessageBytes: r.maxMessageBytes }) },
  'recv-buffer': { show: (c) => formatBytes(c.recvBufferBytes), keep: (r, n) => ({ ...n, recvBufferBytes: r.recvBufferBytes }) },
  ingest: { show: (c) => c.udpIngest, keep: (r, n) => ({ ...n, udpIngest: r.udpIngest }) },
  'spill-dir': { show: (c) => c.spill?.dir ?? '(none)', keep: (r, n) => ({ ...n, spill: r.spill }) },
  'spill-max': { show: (c) => (c.spill ? formatBytes(c.spill.maxBytes) : '(none)'), keep: (r, n) => ({ ...n, spill: r.spill }) },
  'relp-window': { show: (c) => String(c.relpWindow), keep: (r, n) => ({ ...n, relpWindow: r.relpWindow }) },
  'max-delay': { show: (c) => formatDurationMs(c.maxDelayMs), keep: (r, n) => ({ ...n, maxDelayMs: r.maxDelayMs }) },
  // The socket file settings are one object, fixed whole: the ingest thread was started with it.
  'unix-mode': { show: (c) => formatUnixMode(c.unixSocket.mode), keep: (r, n) => ({ ...n, unixSocket: r.unixSocket }) },
  'unix-owner': { show: (c) => c.unixSocket.owner?.text ?? '(none)', keep: (r, n) => ({ ...n, unixSocket: r.unixSocket }) },
  // Applied when a listener binds: a listener a reload adds binds as the running ones did.
  'reuse-port': { show: (c) => String(c.reusePort), keep: (r, n) => ({ ...n, reusePort: r.reusePort }) },
};

/** How the restart-only setting `key` shows in `c` (as the reload's "ignored" phrases say it). */
export function restartOnlyValue(key: RestartOnlyKey, c: RelayConfig): string {
  return RESTART_ONLY[key].show(c);
}

/** The configuration a reload applies: `next`, with every restart-only setting as `current` runs it. */
export function frozenForReload(current: RelayConfig, next: RelayConfig): RelayConfig {
  return restartOnlyKeys().reduce((config, key) => RESTART_ONLY[key].keep(current, config), next);
}

/**
 * Plans the move from `current` (running in `slots`) to `next`; throws RelayError('ERR_BAD_OPTION')
 * when there are not enough free slots (slots of removed destinations still draining are taken).
 */
export function planReload(current: RelayConfig, slots: SlotTable, next: RelayConfig): ReloadPlan {
  const running = {
    config: current,
    listeners: new Map([...slots.listeners].map(([slot, l]) => [slot, l.endpoint])),
    destinations: slots.running(),
    retiringDestinations: slots.retiring(),
  };
  const ignored = restartOnlyKeys().flatMap((name) => {
    const before = restartOnlyValue(name, running.config);
    const after = restartOnlyValue(name, next);
    return before === after ? [] : [`${name} ${before} -> ${after}`];
  });

  const oldFraming = running.config.framing;
  const oldClientCa = running.config.listenerTls?.ca !== undefined;
  const listenersNow = new Map([...running.listeners].map(([slot, l]) => [listenerIdentity(l, oldFraming, oldClientCa), slot]));
  const keptListeners = new Set<number>();
  const addedListeners: Endpoint[] = [];
  for (const l of next.listeners) {
    const slot = listenersNow.get(listenerIdentity(l, next.framing, next.listenerTls?.ca !== undefined));
    if (slot === undefined) addedListeners.push(l);
    else keptListeners.add(slot);
  }
  const freeListenerSlots = freeSlots(MAX_LISTENERS, new Set(running.listeners.keys()));
  if (addedListeners.length > freeListenerSlots.length) {
    throw new RelayError('ERR_BAD_OPTION', `too many listeners: a relay runs at most ${MAX_LISTENERS}`);
  }

  const destinationsNow = new Map([...running.destinations].map(([slot, d]) => [destinationKey(d, oldFraming), slot]));
  const keep: { slot: number; destination: DestinationConfig }[] = [];
  const addedDestinations: DestinationConfig[] = [];
  for (const d of next.destinations) {
    const slot = destinationsNow.get(destinationKey(d, next.framing));
    if (slot === undefined) addedDestinations.push(d);
    else keep.push({ slot, destination: d });
  }
  const keptDestinations = new Set(keep.map((k) => k.slot));
  const freeDestinationSlots = slots.freeDestinationSlots();
  if (addedDestinations.length > freeDestinationSlots.length) {
    throw new RelayError(
      'ERR_BAD_OPTION',
      `too many destinations at once: ${addedDestinations.length} to add, ${freeDestinationSlots.length} of the relay's ${slots.destinationCapacity} slots free while ${running.retiringDestinations.size} removed ones still drain; reload again once they finished`,
    );
  }

  return {
    listeners: {
      add: addedListeners.map((endpoint, i) => ({ slot: freeListenerSlots[i]!, endpoint })),
      remove: [...running.listeners.keys()].filter((slot) => !keptListeners.has(slot)),
    },
    destinations: {
      add: addedDestinations.map((destination, i) => ({ slot: freeDestinationSlots[i]!, destination })),
      remove: [...running.destinations.keys()].filter((slot) => !keptDestinations.has(slot)),
      keep,
    },
    ignored,
  };
}

/** Slots in [0, count) not in `taken`, lowest first. */
function freeSlots(count: number, taken: ReadonlySet<number>): number[] {
  const free: number[] = [];
  for (let slot = 0; slot < count; slot++) if (!taken.has(slot)) free.push(slot);
  return free;
}
