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
import { formatBytes } from '../config/size.js';
import { restartOnlyKeys, type RestartOnlyKey } from '../config/setting-values.js';

export interface ReloadPlan {
  listeners: { add: { slot: number; endpoint: Endpoint }[]; remove: number[] };
  destinations: { add: { slot: number; destination: DestinationConfig }[]; remove: number[]; keep: { slot: number; destination: DestinationConfig }[] };
  /** One phrase per setting that changed but applies only after a restart. */
  ignored: string[];
}

/** A listener's identity: scheme and address, for tcp@ the framing it decodes, for udp@ how it splits datagrams. */
export function listenerIdentity(l: Endpoint, defaultFraming: FramingName): string {
  return l.scheme === 'tcp' ? `tcp@${l.host}:${l.port} ${l.framing ?? defaultFraming}` : `${l.scheme}@${l.host}:${l.port} split=${l.split ?? 'none'}`;
}

/** How each setting fixed at start (settings.ts, `applied: 'restart'`) shows its running value. */
const RUNNING_VALUE: Record<RestartOnlyKey, (c: RelayConfig) => string> = {
  buffer: (c) => formatBytes(c.ringBytes),
  'max-message': (c) => String(c.maxMessageBytes),
  'recv-buffer': (c) => formatBytes(c.recvBufferBytes),
  ingest: (c) => c.udpIngest,
  'spill-dir': (c) => c.spill?.dir ?? '(none)',
  'spill-max': (c) => (c.spill ? formatBytes(c.spill.maxBytes) : '(none)'),
  'relp-window': (c) => String(c.relpWindow),
};

/** Settings fixed at start, in the table's order, each with how to show it. */
const RESTART_ONLY = restartOnlyKeys().map((name) => ({ name, value: RUNNING_VALUE[name] }));

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
  const ignored = RESTART_ONLY.flatMap(({ name, value }) => {
    const before = value(running.config);
    const after = value(next);
    return before === after ? [] : [`${name} ${before} -> ${after}`];
  });

  const oldFraming = running.config.framing;
  const listenersNow = new Map([...running.listeners].map(([slot, l]) => [listenerIdentity(l, oldFraming), slot]));
  const keptListeners = new Set<number>();
  const addedListeners: Endpoint[] = [];
  for (const l of next.listeners) {
    const slot = listenersNow.get(listenerIdentity(l, next.framing));
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
      `too many destinations: a relay runs at most ${slots.destinationCapacity}, counting removed ones still draining (${running.retiringDestinations.size})`,
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
