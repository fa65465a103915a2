/** Messages between the bench's main thread, its sink workers and its sender tasks. */

import type { FramingName } from '../framing/index.js';
import type { FramedServerTls } from '../framing/framed-server.js';

/** A sink worker's workerData: framed TCP in `framing` (over TLS with `tls`), or with `relp` RELP (framing and tls unused). */
export interface SinkWorkerData {
  framing: FramingName;
  tls: FramedServerTls | undefined;
  relp: boolean;
}

/** main -> sink worker */
export type ToSink = { type: 'report' } | { type: 'close' };

/** sink worker -> main, on request. */
export interface SinkReport {
  type: 'report';
  /** Messages that parsed, duplicates included. */
  delivered: number;
  duplicates: number;
  /** Messages that arrived after a later one from the same sender. */
  reordered: number;
  /** Frames that did not parse or payloads that were not ours (with RELP: also sessions closed for a protocol error). */
  torn: number;
  connections: number;
  /** HDR histogram of end-to-end latency in microseconds (compressed base64). */
  latencyHistogram: string;
}

/** One sender's work (a piscina task). */
export interface SenderTask {
  host: string;
  port: number;
  sender: number;
  /** Datagrams per second for this sender. */
  rate: number;
  count: number;
  /** Payload sizes to cycle through (bytes). */
  sizes: number[];
  /** sendmmsg through the native addon (when it loads: 'auto') or node:dgram. */
  sendWith: 'auto' | 'dgram';
  /** Datagrams, or len32le frames on one TCP or TLS connection (trusting `ca`, PEM). */
  input: 'udp' | 'tcp' | 'tls';
  ca?: string;
}

export interface SenderResult {
  sent: number;
  elapsedS: number;
  /** What actually sent. */
  sendWith: 'sendmmsg' | 'dgram' | 'tcp' | 'tls';
}
