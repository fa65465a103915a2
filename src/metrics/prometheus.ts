/**
 * Prometheus text exposition format (0.0.4) from a snapshot. The metric names and labels are an
 * interface: dashboards and alerts depend on them.
 */
import type { DestinationSnapshot, ListenerSnapshot, Snapshot } from './snapshot-types.js';

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: [Labels, number][];
}

/** Escapes a label value: backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const perListener = (s: Snapshot, value: (l: ListenerSnapshot) => number): [Labels, number][] => s.listeners.map((l) => [{ listener: l.name }, value(l)]);
const perDestination = (s: Snapshot, value: (d: DestinationSnapshot) => number): [Labels, number][] =>
  s.destinations.map((d) => [destinationLabels(d), value(d)]);

/** A destination's labels: its address, and its group when it is a member of one. */
const destinationLabels = (d: DestinationSnapshot): Labels => (d.group === undefined ? { destination: d.name } : { destination: d.name, group: d.group });

/** Every metric family, in exposition order. */
function families(s: Snapshot): Family[] {
  return [
    {
      name: 'relay_received_messages_total',
      help: 'Messages received and put in the ring, per listener.',
      type: 'counter',
      samples: perListener(s, (l) => l.receivedMessages),
    },
    {
      name: 'relay_received_bytes_total',
      help: 'Payload bytes received and put in the ring, per listener.',
      type: 'counter',
      samples: perListener(s, (l) => l.receivedBytes),
    },
    {
      name: 'relay_kernel_dropped_messages_total',
      help: 'Datagrams the kernel dropped on the listener socket before the relay read them (receive buffer full); 0 for unix@ (a full Unix socket makes senders wait).',
      type: 'counter',
      samples: perListener(s, (l) => l.kernelDroppedMessages),
    },
    {
      name: 'relay_input_connections_total',
      help: 'TCP input connections accepted, per listener (0 for UDP).',
      type: 'counter',
      samples: perListener(s, (l) => l.connectionsAccepted),
    },
    {
      name: 'relay_listener_reuse_port',
      help: '1 when the listener binds with SO_REUSEPORT (--reuse-port): other relays may share its port, each taking its share of the senders.',
      type: 'gauge',
      samples: perListener(s, (l) => (l.reusePort ? 1 : 0)),
    },
    {
      name: 'relay_input_connections_closed_total',
      help: 'Input connections the relay closed, per listener and reason: tls_handshake (the TLS handshake failed), max_connections (past --max-connections), idle_timeout (no whole message for --idle-timeout), proxy_header (a ?proxy= listener got no valid PROXY header).',
      type: 'counter',
      samples: s.listeners.flatMap((l) => Object.entries(l.closedConnections).map(([reason, n]): [Labels, number] => [{ listener: l.name, reason }, n])),
    },
    {
      name: 'relay_ingest_dropped_messages_total',
      help: 'Messages dropped by the relay on input, per listener and reason.',
      type: 'counter',
      samples: s.listeners.flatMap((l) => Object.entries(l.droppedMessages).map(([reason, n]): [Labels, number] => [{ listener: l.name, reason }, n])),
    },
    {
      name: 'relay_sent_messages_total',
      help: 'Messages handed to the kernel on the destination connection.',
      type: 'counter',
      samples: perDestination(s, (d) => d.sentMessages),
    },
    {
      name: 'relay_sent_bytes_total',
      help: 'Bytes handed to the kernel on the destination connection, framing included.',
      type: 'counter',
      samples: perDestination(s, (d) => d.sentBytes),
    },
    {
      name: 'relay_resent_messages_total',
      help: 'Messages written again on a new connection because the lost one had not confirmed them.',
      type: 'counter',
      samples: perDestination(s, (d) => d.resentMessages),
    },
    {
      name: 'relay_dropped_messages_total',
      help: 'Messages a destination did not get, per reason.',
      type: 'counter',
      samples: s.destinations.flatMap((d) =>
        Object.entries(d.droppedMessages).map(([reason, n]): [Labels, number] => [{ ...destinationLabels(d), reason }, n]),
      ),
    },
    {
      name: 'relay_spilled_messages_total',
      help: 'Messages written to the spill directory for a lagging destination.',
      type: 'counter',
      samples: perDestination(s, (d) => d.spilledMessages),
    },
    {
      name: 'relay_replayed_messages_total',
      help: 'Spilled messages delivered to the destination.',
      type: 'counter',
      samples: perDestination(s, (d) => d.replayedMessages),
    },
    {
      name: 'relay_spill_corrupt_segments_total',
      help: 'Damaged spill segments (bad checksum, truncated) whose remainder was skipped.',
      type: 'counter',
      samples: perDestination(s, (d) => d.spillCorruptSegments),
    },
    {
      name: 'relay_spill_corrupt_bytes_total',
      help: 'Bytes of damaged spill segments skipped.',
      type: 'counter',
      samples: perDestination(s, (d) => d.spillCorruptBytes),
    },
    { name: 'relay_destination_up', help: '1 while the destination is connected.', type: 'gauge', samples: perDestination(s, (d) => (d.up ? 1 : 0)) },
    {
      name: 'relay_destination_lag_messages',
      help: 'Messages received but not yet handed to a write for the destination.',
      type: 'gauge',
      samples: perDestination(s, (d) => d.lagMessages),
    },
    {
      name: 'relay_destination_lag_bytes',
      help: 'Ring bytes received but not yet handed to a write for the destination.',
      type: 'gauge',
      samples: perDestination(s, (d) => d.lagBytes),
    },
    {
      name: 'relay_connects_total',
      help: 'Connections to the destination established (the first one included).',
      type: 'counter',
      samples: perDestination(s, (d) => d.connects),
    },
    {
      name: 'relay_reconnects_total',
      help: 'Connections to the destination lost, or attempts that failed.',
      type: 'counter',
      samples: perDestination(s, (d) => d.reconnects),
    },
    {
      name: 'relay_lf_split_messages_total',
      help: 'Messages sent with lf framing that contain a newline (the receiver splits them).',
      type: 'counter',
      samples: perDestination(s, (d) => d.splitMessages),
    },
    {
      name: 'relay_stalls_total',
      help: 'Connections closed because the destination stopped reading.',
      type: 'counter',
      samples: perDestination(s, (d) => d.stalls),
    },
    {
      name: 'relay_tls_handshake_failures_total',
      help: 'TLS attempts to the destination that failed: certificate verification, the handshake, or a TLS alert right after it.',
      type: 'counter',
      samples: perDestination(s, (d) => d.tlsFailures),
    },
    {
      name: 'relay_destination_unconfirmed_messages',
      help: 'Messages written and not yet confirmed: for tcp@ and tls@ not yet taken by the kernel, for relp@ not yet acknowledged by the receiver (those waiting for room in the window included).',
      type: 'gauge',
      samples: perDestination(s, (d) => d.unconfirmedMessages),
    },
    {
      name: 'relay_group_others_messages_total',
      help: "Messages that were not the destination's to send: other members' of its group, or routed elsewhere.",
      type: 'counter',
      samples: perDestination(s, (d) => d.othersMessages),
    },
    {
      name: 'relay_group_handed_over_messages_total',
      help: 'Messages a group member had not had confirmed when it went down, handed to the members that took its share.',
      type: 'counter',
      samples: perDestination(s, (d) => d.handedOverMessages),
    },
    {
      name: 'relay_group_taken_over_messages_total',
      help: 'Messages handed to a group member by one that went down.',
      type: 'counter',
      samples: perDestination(s, (d) => d.takenOverMessages),
    },
    ...routeFamilies(s),
    {
      name: 'relay_config_reloads_total',
      help: 'Configuration reloads (SIGHUP), by result: ok, or failed (the relay kept its previous configuration).',
      type: 'counter',
      samples: [
        [{ result: 'ok' }, s.reloads.ok],
        [{ result: 'failed' }, s.reloads.failed],
      ],
    },
    { name: 'relay_ring_capacity_bytes', help: 'Size of the shared ring.', type: 'gauge', samples: [[{}, s.ring.capacityBytes]] },
    { name: 'relay_ring_used_bytes', help: 'Ring bytes some destination still needs.', type: 'gauge', samples: [[{}, s.ring.usedBytes]] },
    {
      name: 'relay_ingest_native',
      help: '1 when UDP listeners receive through the native recvmmsg addon, 0 with node:dgram.',
      type: 'gauge',
      samples: [[{}, s.udpIngest === 'native' ? 1 : 0]],
    },
    {
      name: 'relay_ingest_running',
      help: '1 while the relay is receiving (0 while it drains at shutdown).',
      type: 'gauge',
      samples: [[{}, s.ingestRunning ? 1 : 0]],
    },
    { name: 'relay_start_time_seconds', help: 'Start time of the relay, seconds since the epoch.', type: 'gauge', samples: [[{}, s.startedMs / 1000]] },
    {
      name: 'relay_thread_cpu_seconds_total',
      help: 'CPU time (user + system) per relay thread.',
      type: 'counter',
      samples: s.threads.map((t) => [{ thread: t.name }, t.cpuSeconds]),
    },
    { name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', type: 'counter', samples: [[{}, s.process.cpuSeconds]] },
    { name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', type: 'gauge', samples: [[{}, s.process.residentBytes]] },
  ];
}

/** Routing's families (README "Routing"): none without rules. */
function routeFamilies(s: Snapshot): Family[] {
  if (!s.routes) return [];
  return [
    {
      name: 'relay_route_dropped_messages_total',
      help: "Messages the routing rules sent nowhere: unrouted (no rule sent them), blackholed (a rule dropped them), invalid (a failed validate, or a line carbon-c-relay's cleansing drops).",
      type: 'counter',
      samples: Object.entries(s.routes.droppedMessages).map(([reason, n]) => [{ reason }, n]),
    },
    {
      name: 'relay_route_matched_messages_total',
      help: 'Messages each routing rule matched (the rule: where it was written).',
      type: 'counter',
      samples: s.routes.rules.map((r) => [{ rule: r.rule }, r.matchedMessages]),
    },
  ];
}

/** The /metrics body. */
export function renderPrometheus(s: Snapshot): string {
  const lines: string[] = [];
  for (const f of families(s)) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const [labels, value] of f.samples) {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      lines.push(`${f.name}${text ? `{${text}}` : ''} ${formatValue(value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
