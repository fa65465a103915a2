/**
 * The routing rules of ./route-spec.ts, compiled (pure: no I/O, no counters): which targets get a
 * message, and with what bytes. The egress thread decides each ring item once (./route-table.ts).
 */
import { RelayError } from '../errors.js';
import { compileExpression, type Expression } from './expression.js';
import { BLACKHOLE, type RouteSpec, type RuleSpec } from './route-spec.js';
import { CARBON_CLEANSE, cleanseRange, metricNameEnd, type NameEnd } from './carbon-cleanse.js';

const CR = 0x0d;

/** What happened to a message: sent somewhere, or why not. */
export type RouteOutcome = 'routed' | 'unrouted' | 'blackholed' | 'invalid';

/** One message's routes. */
export interface RouteDecision {
  /** Target names, in the order rules sent to them (a name twice when two rules sent to it); shared between decisions, never changed. */
  targets: readonly string[];
  /** The bytes each target gets; undefined when every one gets the message as it is (no rewrite or cleansing changed it). */
  payloads: Uint8Array[] | undefined;
  outcome: RouteOutcome;
  /** Positions (in the rule list) of the match rules that matched: the router's own list, valid until its next decide(). */
  matched: readonly number[];
  /** A validation with `log` failed: the message, for the log. */
  logged?: string;
}

/** Buffer's latin1 decoder, called on any byte view (no Buffer object made per message). */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;
const NO_TARGETS: readonly string[] = Object.freeze([]);

type Compiled =
  | { kind: 'match'; any: Expression[] | undefined; validate?: { expression: Expression; log: boolean }; to: string[]; drop: boolean; stop: boolean }
  | { kind: 'rewrite'; expression: Expression; into: string };

/** See the module comment. */
export class Router {
  private readonly rules: Compiled[];

  /** Where cleanseRange leaves the name's end (one, reused). */
  private readonly found: NameEnd = { nameEnd: 0 };
  /** Scratch lists of one decide() (no allocation per message). */
  private readonly scratchTargets: string[] = [];
  private readonly scratchPayloads: Uint8Array[] = [];
  private readonly scratchMatched: number[] = [];
  /** Target lists handed out, by their names joined: decisions share them (most messages go where the last one went). */
  private readonly interned = new Map<string, readonly string[]>();
  private lastTargets: readonly string[] = NO_TARGETS;

  /** Compiles `spec`; `targets`, when given, are the names rules may send to (a name not among them is a configuration error). */
  constructor(
    readonly spec: RouteSpec,
    targets: ReadonlySet<string> | undefined,
  ) {
    this.rules = spec.rules.map((r) => compile(r, targets));
  }

  /** The routes of `payload`. */
  decide(payload: Uint8Array): RouteDecision {
    const targets = this.scratchTargets;
    const payloads = this.scratchPayloads;
    const matched = this.scratchMatched;
    targets.length = 0;
    payloads.length = 0;
    matched.length = 0;
    const decision: RouteDecision = { targets: NO_TARGETS, payloads: undefined, outcome: 'unrouted', matched };
    let bytes: Uint8Array | undefined = payload;
    let length = payload.length;
    let nameEnd = length;
    if (this.spec.subject === 'graphite') {
      if (this.spec.cleanse) {
        // A copy: the ring's bytes are every destination's (carbon-c-relay cleanses its own buffer).
        const copy = Buffer.from(payload);
        // carbon-c-relay ends a line at CR as at LF: a CRLF line's CR is not part of it.
        const end = cleanseRange(copy, 0, copy.length > 0 && copy[copy.length - 1] === CR ? copy.length - 1 : copy.length, CARBON_CLEANSE, this.found);
        if (end < 0) {
          decision.outcome = 'invalid';
          return decision;
        }
        if (end !== copy.length || !copy.equals(payload)) bytes = copy.subarray(0, end);
        length = end;
        nameEnd = this.found.nameEnd;
      } else nameEnd = metricNameEnd(payload);
    }
    const text = latin1Slice.call(bytes, 0, length);
    // Rules see the metric name (a Graphite line's: up to its tags or first space), validate what follows it.
    let subject = nameEnd === length ? text : text.slice(0, nameEnd);
    const rest = nameEnd === length ? '' : text.slice(nameEnd);
    let sent = false;
    let blackholed = false;
    let invalid = false;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      if (rule.kind === 'rewrite') {
        const next = rule.expression.rewrite(subject, rule.into);
        if (next !== undefined && next !== subject) {
          subject = next;
          bytes = undefined;
        }
        continue;
      }
      if (rule.any && !matchesAny(rule.any, subject)) continue;
      matched.push(i);
      let stop = rule.stop;
      if (rule.validate && !rule.validate.expression.test(this.spec.subject === 'graphite' ? rest.slice(1) : subject)) {
        invalid = true;
        if (rule.validate.log) decision.logged = subject + rest;
        // carbon-c-relay: a failed validation skips the rule's targets; it stops only a rule without any.
        if (rule.to.length === 0 && !rule.drop) stop = true;
      } else {
        if (rule.to.length > 0) {
          bytes ??= Buffer.from(subject + rest, 'latin1');
          for (const t of rule.to) {
            targets.push(t);
            payloads.push(bytes);
          }
          sent = true;
        }
        // A blackhole among the targets: the others still get it; nothing after it runs.
        if (rule.drop) {
          blackholed = true;
          stop = true;
        }
      }
      if (stop) break;
    }
    decision.outcome = sent ? 'routed' : blackholed ? 'blackholed' : invalid ? 'invalid' : 'unrouted';
    decision.targets = this.intern(targets);
    for (const p of payloads) {
      if (p === payload) continue;
      decision.payloads = [...payloads];
      break;
    }
    return decision;
  }

  /** A lasting list equal to `targets` (the scratch list), shared with earlier decisions. */
  private intern(targets: readonly string[]): readonly string[] {
    if (targets.length === 0) return NO_TARGETS;
    const last = this.lastTargets;
    if (sameNames(last, targets)) return last;
    const key = targets.join('\n');
    let kept = this.interned.get(key);
    if (!kept) {
      kept = Object.freeze([...targets]);
      // Bounded: rules make few distinct lists; should they make many, start over.
      if (this.interned.size >= 4096) this.interned.clear();
      this.interned.set(key, kept);
    }
    this.lastTargets = kept;
    return kept;
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function matchesAny(expressions: readonly Expression[], subject: string): boolean {
  for (const e of expressions) if (e.test(subject)) return true;
  return false;
}

/** Compiles `spec` to check it: every expression, and every name it sends to among `targets` (throws RelayError). */
export function checkRoutes(spec: RouteSpec, targets: ReadonlySet<string>): void {
  new Router(spec, targets);
}

function compile(rule: RuleSpec, targets: ReadonlySet<string> | undefined): Compiled {
  if (rule.kind === 'rewrite') return { kind: 'rewrite', expression: compileExpression(rule.expression, rule.where), into: rule.into };
  for (const t of rule.to)
    if (targets && t !== BLACKHOLE && !targets.has(t))
      throw new RelayError(
        'ERR_CONFIG',
        `${rule.where}: sends to ${JSON.stringify(t)}, which is no destination or group (names: ${[...targets].join(', ') || 'none'})`,
      );
  return {
    kind: 'match',
    any: rule.match?.map((m) => compileExpression(m, rule.where)),
    validate: rule.validate && { expression: compileExpression(rule.validate.expression, rule.where), log: rule.validate.otherwise === 'log' },
    to: rule.to.filter((t) => t !== BLACKHOLE),
    drop: rule.drop || rule.to.includes(BLACKHOLE),
    stop: rule.stop,
  };
}
