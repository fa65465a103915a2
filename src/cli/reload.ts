/**
 * SIGHUP: read the configuration again (the --config file, the command line over it, every TLS
 * file) and move the running relay to it (Relay.reload). A configuration that does not load or
 * check, or a listener that cannot bind, changes nothing: one log line says why, the relay runs
 * on, and relay_config_reloads_total{result="failed"} counts it. Settings fixed at start are
 * logged as ignored until restart. Reloads run one at a time (Relay's queue); a SIGHUP during one runs after it.
 */
import type { Relay } from '../main/relay.js';
import type { LogSink } from '../logging.js';
import type { RunSettings } from './run-settings.js';
import { passedSocketNote } from '../service/socket-activation.js';

export interface ReloadWiring {
  relay: Relay;
  log: LogSink;
  /** Reads the configuration again; throws RelayError with one line when it is bad. */
  load: () => RunSettings;
  /** The settings the relay started with. */
  running: RunSettings;
  /** Called after a reload was applied, to switch what the main thread alone uses (log, stats). */
  applied: (next: RunSettings) => void;
}

/** Returns the SIGHUP action: each call queues one reload, and settles (never rejects) once it applied or failed. */
export function watchReloads(w: ReloadWiring): () => Promise<void> {
  let running = w.running;
  // The file is read when the signal comes; Relay.reload queues the reloads (and the stop) in one
  // queue, so they apply, and are logged, in the order of the signals.
  const reload = async (): Promise<void> => {
    const source = running.file ?? 'the command line';
    w.log('info', `SIGHUP: reloading ${source}`);
    let next: RunSettings;
    try {
      next = w.load();
    } catch (error) {
      w.relay.reloadRefused();
      w.log('error', `reload failed, still running the previous configuration: ${(error as Error).message}`);
      return;
    }
    try {
      const report = await w.relay.reload(next.config);
      if (next.metrics?.text !== running.metrics?.text) report.ignored.push(`metrics ${running.metrics?.text ?? '(off)'} -> ${next.metrics?.text ?? '(off)'}`);
      running = next;
      w.applied(next);
      const changes = [
        ...report.addedListeners.map((l) => `listening on ${l.text}${passedSocketNote(l)}`),
        ...report.removedListeners.map((l) => `closed ${l}`),
        ...report.addedDestinations.map((d) => `added ${d}`),
        ...report.removedDestinations.map((d) => `removing ${d} (draining up to ${next.config.drainTimeoutMs} ms)`),
        ...report.reconnectedDestinations.map((d) => `reconnecting ${d} (TLS settings changed)`),
      ];
      w.log('info', `reloaded ${source}: ${changes.length === 0 ? 'no listener or destination changed' : changes.join('; ')}`);
      if (report.ignored.length > 0) w.log('warn', `ignored until restart: ${report.ignored.join(', ')}`);
    } catch (error) {
      w.log('error', `reload failed, still running the previous configuration: ${(error as Error).message}`);
    }
  };
  return reload;
}
