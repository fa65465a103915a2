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
  /** How the load reaches the relay (this relay only for tcp and tls). */
  input: BenchInput;
  /** With input 'tls': the listener's certificate and key; the senders trust the certificate. */
  inputTls?: BenchTls;
}

/** Datagrams, or len32le frames on one TCP or TLS connection per sender. */
export type BenchInput = 'udp' | 'tcp' | 'tls';

/** A self-signed certificate and its key (PEM), and their files (the relay's --tls-ca, or --listen-tls-cert and --listen-tls-key). */
export interface BenchTls {
  cert: string;
  key: string;
  caFile: string;
  keyFile: string;
}
