/** What one benchmark run is asked to do (./run-one.ts runs it): the relay, the load, the sinks. */
import type { FramingName } from '../framing/index.js';
import type { GroupMode } from '../group/group-spec.js';

export interface RunSpec {
  /** Name in reports: 'relay' for this one, else the command. */
  label: string;
  /** Command with {udp} and {tcp} placeholders; undefined: this relay (bin/relay). */
  relayCommand: string | undefined;
  rate: number;
  count: number;
  sizes: number[];
  destinations: number;
  framing: FramingName;
  senders: number;
  /** 'auto': sendmmsg when the native addon loads; 'dgram': node:dgram. */
  sendWith: 'auto' | 'dgram';
  /** How long to wait for stragglers once the senders are done. */
  settleMs: number;
  /** SIGTERM the relay the moment the senders are done, and count what it delivered by its exit (its drain). */
  sigtermAfterSend: boolean;
  /** The sinks serve TLS with this certificate; the relay trusts it (--tls-ca, or {ca} in a --relay-cmd). */
  tls?: BenchTls;
  /** The sinks speak RELP (no framing, no TLS): the relay gets relp@ destinations ({tcp} in a --relay-cmd holds them). */
  relp?: boolean;
  /** The sinks are the members of one group of this mode (this relay only): together they get each message once. */
  group?: GroupMode;
}

/** A sink certificate and its key (PEM), and the certificate's file for the relay's --tls-ca. */
export interface BenchTls {
  cert: string;
  key: string;
  caFile: string;
}
