/**
 * The fake RELP receiver of the relp simulation (./relp-sim.ts): it reads the commands of each
 * connection with the real codec (src/relp/frame.ts) as the peer takes their bytes, and answers
 * them, in order, only when the schedule says so: `200`, `500` for some messages, `0 serverclose 0`;
 * the schedule may also cut the connection between a command and its answer. And the surprises a
 * real peer produces (`Surprise`): the last answers and `serverclose` in one segment (imrelp when
 * rsyslog stops), two answers out of order, an `open` answered 200 without `commands=syslog`. An answer counts as
 * acknowledged once it reached the client (its 'data' event fired on a live socket): an answer
 * lost with its connection was never seen.
 *
 * What it checks as commands arrive (R2, R5 of ./relp-sim.ts): payloads intact and ids strictly
 * increasing per connection; a message whose answer reached the client never comes again; what
 * went out unanswered comes again first on the next connection, before anything new.
 */
import { encodeFrame, FrameParser } from '../../src/relp/frame.js';
import { FakeSocket, type ConnectionRecord } from './fake-net.js';
import { idOf } from './peer.js';
import { randomInt } from '../helpers/prng.js';

/** A FakeSocket that counts the client's writes before its session was accepted (R7). */
export class RelpFakeSocket extends FakeSocket {
  /** The answer `200` to `open` reached the client. */
  sessionOpen = false;
  private openSent = false;
  writesBeforeOpen = 0;

  override write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean {
    if (!this.sessionOpen) {
      const isOpen = !this.openSent && Buffer.from(chunk.subarray(0, 7)).toString('latin1') === '1 open ';
      if (isOpen) this.openSent = true;
      else this.writesBeforeOpen++;
    }
    return super.write(chunk, callback);
  }
}

interface Command {
  txnr: number;
  kind: 'open' | 'syslog' | 'close';
  id: number;
}

/** One connection as the receiver sees it. */
export interface RelpConnection {
  socket: RelpFakeSocket;
  record: ConnectionRecord;
  parser: FrameParser;
  parsedChunks: number;
  /** Commands received and not answered yet, oldest first. */
  commands: Command[];
  lastId: number;
  /** What went out unanswered on earlier connections, in order: owed first on this one. */
  owed: number[];
  /** Still resending: no new message came on this connection yet. */
  resending: boolean;
  /** The owed messages that came again on it. */
  resent: Set<number>;
}

/**
 * A peer's surprise in one answer chunk: `serverclose` right after the answers (one segment);
 * two adjacent answers swapped (the client must end the session at the first one out of order,
 * having accepted only those before it); `open` accepted without offering `syslog` (refused).
 */
export type Surprise = 'none' | 'serverclose' | 'swap' | 'featureless';

/** What became of a message the receiver got: answer not seen by the client, 200 seen, 500 seen, or never resent (dropped). */
type Fate = 'owed' | 'acked' | 'refused' | 'gone';

/** See the module comment. */
export class RelpReceiver {
  mode: 'answering' | 'withholding' | 'stalled' | 'refusing' = 'answering';
  readonly connections: RelpConnection[] = [];
  readonly fates = new Map<number, Fate>();
  /** Distinct messages whose 200 / 500 reached the client. */
  acked = 0;
  refused = 0;
  /** Commands carrying a message received before (one that went through the spill: spillDuplicates). */
  duplicates = 0;
  spillDuplicates = 0;
  /** Messages owed at a break that the next connection skipped: they must have been dropped. */
  skipped = 0;
  commands = 0;
  /** Spill-replayed messages received again although answered: their batch is confirmed whole. */
  answeredAgain = 0;
  /** Faults and exchanges the schedule made: `serverclose` sent, cuts between a command and its answer, `close` answered. */
  servercloses = 0;
  cutsWithCommandsUnanswered = 0;
  closesAnswered = 0;

  constructor(
    private readonly rejectRate: number,
    private readonly fail: (message: string) => never,
    /** Whether message `id` went through the spill: a replayed batch comes again whole after a break, answered messages included. */
    private readonly replayed: (id: number) => boolean = () => false,
  ) {}

  get current(): RelpConnection | undefined {
    const last = this.connections.at(-1);
    return last && !last.socket.destroyed && !last.record.ended ? last : undefined;
  }

  /** A new connection (the previous ones are gone): what they left unanswered is owed on it. */
  accept(socket: RelpFakeSocket, record: ConnectionRecord, maxDataBytes: number): void {
    const owed = [...this.fates].filter(([, fate]) => fate === 'owed').map(([id]) => id);
    owed.sort((a, b) => a - b);
    this.connections.push({
      socket,
      record,
      parser: new FrameParser(maxDataBytes),
      parsedChunks: 0,
      commands: [],
      lastId: -1,
      owed,
      resending: true,
      resent: new Set(),
    });
  }

  /** The peer takes up to `maxBytes` of the current connection, and reads the commands in them. */
  read(maxBytes: number): void {
    const c = this.current;
    if (!c || this.mode === 'stalled' || this.mode === 'refusing') return;
    c.socket.take(maxBytes);
    this.parse(c);
  }

  private parse(c: RelpConnection): void {
    while (c.parsedChunks < c.record.bytes.length) c.parser.push(c.record.bytes[c.parsedChunks++]!);
    for (let frame = c.parser.next(); frame; frame = c.parser.next()) {
      if (frame.command === 'open' || frame.command === 'close') {
        if (frame.command === 'open' && (c.commands.length > 0 || c.lastId >= 0)) this.fail(`connection ${c.record.id}: open after other commands`);
        c.commands.push({ txnr: frame.txnr, kind: frame.command, id: -1 });
        continue;
      }
      if (frame.command !== 'syslog') this.fail(`connection ${c.record.id}: unexpected command ${frame.command}`);
      const id = idOf(frame.data);
      this.commands++;
      if (id <= c.lastId) this.fail(`connection ${c.record.id}: message ${id} after ${c.lastId} (order or duplicate)`);
      c.lastId = id;
      let fate = this.fates.get(id);
      if ((fate === 'acked' || fate === 'refused') && this.replayed(id) && c.resending) {
        // Its answer reached the client, but its batch was not confirmed (confirmed whole): it counts once, when that comes.
        if (fate === 'acked') this.acked--;
        else this.refused--;
        this.answeredAgain++;
        fate = 'owed';
      }
      if (fate === 'acked' || fate === 'refused')
        this.fail(`message ${id} sent again on connection ${c.record.id}, its ${fate === 'acked' ? '200' : '500'} had reached the client`);
      if (fate === 'gone') this.fail(`message ${id} sent again on connection ${c.record.id} after newer messages went out instead`);
      if (fate === 'owed') {
        if (!c.resending) this.fail(`message ${id} resent on connection ${c.record.id} after a message that had not gone out before`);
        if (this.replayed(id)) this.spillDuplicates++;
        else this.duplicates++;
        c.resent.add(id);
      } else if (c.resending) {
        // The first new message: whatever was owed and not resent must have been dropped.
        c.resending = false;
        for (const owed of c.owed) {
          if (c.resent.has(owed)) continue;
          this.fates.set(owed, 'gone');
          this.skipped++;
        }
      }
      this.fates.set(id, 'owed');
      c.commands.push({ txnr: frame.txnr, kind: 'syslog', id });
    }
  }

  /**
   * Answers up to `count` of the current connection's oldest commands (when answering), in one
   * chunk or two (split anywhere, even inside an answer).
   */
  answer(count: number, random: () => number, refuseOpen = false, surprise: Surprise = 'none'): void {
    const c = this.current;
    if (!c || this.mode !== 'answering' || c.commands.length === 0) return;
    const answers = c.commands.splice(0, count).map((command) => {
      if (command.kind === 'close') {
        this.closesAnswered++;
        return { command, code: 0, frame: encodeFrame(command.txnr, 'rsp') };
      }
      const refused = command.kind === 'open' ? refuseOpen : random() < this.rejectRate;
      const offers = surprise === 'featureless' ? 'relp_version=0\ncommands=' : 'relp_version=0\ncommands=syslog';
      const text = refused ? '500 refused by the simulation' : command.kind === 'open' ? `200 OK\n${offers}` : '200 OK';
      // An open without `syslog` offered is refused by the client: it counts as not open.
      const code = refused || (command.kind === 'open' && surprise === 'featureless') ? 500 : 200;
      return { command, code, frame: encodeFrame(command.txnr, 'rsp', Buffer.from(text)) };
    });
    // The answers the client accepts: all, or those before the first one out of order.
    let accepted = answers.length;
    if (surprise === 'swap') {
      const at = answers.findIndex((a, i) => a.command.kind === 'syslog' && answers[i + 1]?.command.kind === 'syslog');
      if (at >= 0) {
        [answers[at], answers[at + 1]] = [answers[at + 1]!, answers[at]!];
        accepted = at;
      }
    }
    const frames = answers.map((a) => a.frame);
    if (surprise === 'serverclose') {
      this.servercloses++;
      frames.push(encodeFrame(0, 'serverclose'));
    }
    const bytes = Buffer.concat(frames);
    const split = random() < 0.3 ? randomInt(random, 1, bytes.length - 1) : bytes.length;
    let end = 0;
    const first: typeof answers = [];
    const second: typeof answers = [];
    for (const a of answers) {
      end += a.frame.length;
      (end <= split ? first : second).push(a);
    }
    const arrived = (part: typeof answers) => () => {
      for (const { command, code } of part.filter((a) => answers.indexOf(a) < accepted)) {
        if (command.kind === 'open') c.socket.sessionOpen = code === 200;
        if (command.kind !== 'syslog') continue;
        if (this.fates.get(command.id) !== 'owed') this.fail(`message ${command.id} answered twice`);
        this.fates.set(command.id, code === 200 ? 'acked' : 'refused');
        if (code === 200) this.acked++;
        else this.refused++;
      }
    };
    c.socket.receive(bytes.subarray(0, split), arrived(first));
    if (split < bytes.length) c.socket.receive(bytes.subarray(split), arrived(second));
  }

  /** `0 serverclose 0` on the current connection (then, sometimes, the peer hangs up). */
  serverclose(hangUp: boolean): void {
    const c = this.current;
    if (!c) return;
    this.servercloses++;
    c.socket.receive(encodeFrame(0, 'serverclose'));
    if (hangUp) c.socket.reset();
  }

  /** The peer cuts the current connection (preferably between a command and its answer). */
  reset(): void {
    const c = this.current;
    if (c?.commands.some((command) => command.kind === 'syslog')) this.cutsWithCommandsUnanswered++;
    c?.socket.reset();
  }
}
