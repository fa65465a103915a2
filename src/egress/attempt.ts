/**
 * One connect attempt of a Connection (./connection.ts): the socket a transport opened
 * (./transport.ts), the listeners on it, its connect deadline, and what it learned on the way (the
 * TLS handshake under way, the peer's acceptance awaited, the last socket error). It decides
 * nothing: it reports each thing that happens to it through one callback, and the connection acts
 * only on its current attempt, so a late event of an earlier socket cannot touch the next one.
 *
 * How an attempt learns when it is up: the connect function returns an Opening, the socket and
 * the name of the event after which it carries data: 'connect' for TCP, 'secureConnect' for TLS
 * (the handshake is done and the server's certificate verified). A TLS socket also emits
 * 'connect' when its TCP connection is made; that only marks the handshake as under way, so a
 * failure from then on is reported as a TLS failure. An Opening may also say that the peer's
 * acceptance comes after that event (`awaitAcceptance`: a TLS 1.3 server judges the client
 * certificate after the client's side of the handshake is done); the connection then goes up
 * when the attempt reports it, and nothing is written before. The connect deadline runs on the
 * clock from the attempt's start to up: it covers the TCP connect and the handshake.
 */
import type { Clock } from './clock.js';
import { describeError, type SocketError } from './socket-error.js';

/**
 * What a write's callback may add (a RELP session, src/relp/client.ts; a plain socket adds
 * nothing): on success, how many of its messages the receiver refused, and why; on failure, how
 * many of its first messages the receiver had answered before the session ended.
 */
export interface WriteOutcome {
  acked: number;
  /** The bytes of the chunk those `acked` messages take. */
  ackedBytes: number;
  /** On failure: how many of its messages had gone out (as RELP commands) at all; the others were never sent. */
  issued?: number;
  rejected: number;
  reasons: string[];
}

/** The part of net.Socket a connection uses. */
export interface SocketLike {
  readonly destroyed: boolean;
  readonly writableNeedDrain: boolean;
  write(chunk: Uint8Array, callback: (error?: Error | null, outcome?: WriteOutcome) => void): boolean;
  end(): void;
  destroy(error?: Error): void;
  /** A session that ends with an exchange (RELP's `close`): settles once end() has finished it. */
  readonly ended?: Promise<void>;
  /** Inactivity timeout: 'timeout' fires after `ms` without a write issued, completed, or a read. */
  setTimeout(ms: number): void;
  on(event: 'connect' | 'secureConnect' | 'drain' | 'close' | 'timeout', listener: () => void): void;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  on(event: 'error', listener: (error: SocketError) => void): void;
}

/** The event after which an attempt's socket carries data. */
export type UpEvent = 'connect' | 'secureConnect';

/** What a connect function returns: the socket it is opening, and the event that means it is up. */
export interface Opening {
  socket: SocketLike;
  upEvent: UpEvent;
  /**
   * Called at `upEvent` when present: calls `accepted` (at once, or when the peer has shown it
   * accepted the session); the attempt is up only then. See the module comment.
   */
  awaitAcceptance?(accepted: () => void): void;
  /** The attempt fails if the acceptance has not come by the connect deadline (a RELP open); else it goes up then. */
  acceptanceRequired?: boolean;
}

/** Opens a socket to host:port (connecting in the background). ./transport.ts has the real ones. */
export type ConnectFn = (host: string, port: number) => Opening;

/**
 * What happens to an attempt: its socket `reached` its upEvent, the peer `accepted` the session,
 * the connect `deadline` came, the socket was `idle` (its inactivity timer) or `drained`, or it
 * `closed`.
 */
export type AttemptEvent = 'reached' | 'accepted' | 'deadline' | 'idle' | 'drained' | 'closed';

/** See the module comment. */
export class Attempt {
  readonly socket: SocketLike;
  /** Its socket carries data (the connection is up on it). */
  private up = false;
  /** A TLS attempt's TCP connection is made: a failure now is a TLS failure. */
  private handshaking = false;
  /** Reached its upEvent; waiting for the peer to accept the session. */
  private awaitingAcceptance = false;
  private lastError: SocketError | undefined;
  private readonly deadline: unknown;

  constructor(
    private readonly opening: Opening,
    connectTimeoutMs: number,
    private readonly clock: Clock,
    private readonly report: (event: AttemptEvent) => void,
  ) {
    const { socket, upEvent } = opening;
    this.socket = socket;
    // A deadline, not the socket's inactivity timer: Node restarts that timer when the TCP
    // connection is made, and a TLS handshake's records do not restart it, so it would measure
    // neither the whole attempt nor the handshake alone.
    this.deadline = clock.setTimeout(() => report('deadline'), connectTimeoutMs);
    socket.on('connect', () => {
      if (upEvent === 'connect') report('reached');
      else this.handshaking = true;
    });
    if (upEvent !== 'connect') socket.on(upEvent, () => report('reached'));
    socket.on('timeout', () => report('idle'));
    socket.on('drain', () => report('drained'));
    // Read and discard: reading is how a peer's FIN is noticed while there is nothing to send.
    socket.on('data', () => {});
    socket.on('error', (error) => {
      this.lastError = error;
    });
    socket.on('close', () => report('closed'));
  }

  get isUp(): boolean {
    return this.up;
  }

  /** A TLS attempt whose TCP connection is made and whose handshake is not finished. */
  get isHandshaking(): boolean {
    return this.handshaking;
  }

  /** Without the peer's acceptance by the deadline, the attempt fails. */
  get acceptanceRequired(): boolean {
    return this.opening.acceptanceRequired === true;
  }

  /** It reached its upEvent and only the peer's acceptance is awaited. */
  get isAwaitingAcceptance(): boolean {
    return this.awaitingAcceptance;
  }

  /** At its upEvent: reports `accepted` at once, or once the peer accepted the session. */
  awaitAcceptance(): void {
    const { awaitAcceptance } = this.opening;
    if (!awaitAcceptance) {
      this.report('accepted');
      return;
    }
    this.awaitingAcceptance = true;
    awaitAcceptance(() => this.report('accepted'));
  }

  /**
   * Its socket carries data from now on: the deadline no longer applies, and the socket's
   * inactivity timer becomes the stall timeout (Node restarts it on every write issued or
   * completed and every read).
   */
  wentUp(stallTimeoutMs: number): void {
    this.awaitingAcceptance = false;
    this.clearDeadline();
    this.socket.setTimeout(stallTimeoutMs);
    this.up = true;
  }

  /** The deadline no longer applies (up, or gone). */
  clearDeadline(): void {
    this.clock.clearTimeout(this.deadline);
  }

  /** Why its socket closed, in one line. */
  get closeReason(): string {
    if (this.lastError) return describeError(this.lastError);
    return this.awaitingAcceptance ? 'closed by the peer before it accepted the session (is the client certificate trusted?)' : 'closed by the peer';
  }

  /**
   * Whether its close is a TLS failure: the handshake was under way and never finished, or an
   * ERR_SSL_* alert came (TLS 1.3 servers refuse a client certificate just after the handshake).
   */
  get closedByTls(): boolean {
    if (this.opening.upEvent !== 'secureConnect') return false;
    return (!this.up && this.handshaking) || this.lastError?.code?.startsWith('ERR_SSL_') === true;
  }
}
