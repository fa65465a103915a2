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
  /** Target names, in the order rules sent to them (a name twice when two rules sent to it). */
  targets: string[];
  /** The bytes each target gets: the message itself unless a rewrite or cleansing changed it. */
  payloads: Uint8Array[];
  outcome: RouteOutcome;
  /** Positions (in the rule list) of the match rules that matched. */
  matched: number[];
  /** A validation with `log` failed: the message, for the log. */
  logged?: string;
}

type Compiled =
  | { kind: 'match'; any: Expression[] | undefined; validate?: { expression: Expression; log: boolean }; to: string[]; drop: boolean; stop: boolean }
  | { kind: 'rewrite'; expression: Expression; into: string };

/** See the module comment. */
export class Router {
  private readonly rules: Compiled[];

  /** Where cleanseRange leaves the name's end (one, reused). */
  private readonly found: NameEnd = { nameEnd: 0 };

  /** Compiles `spec`; `targets`, when given, are the names rules may send to (a name not among them is a configuration error). */
  constructor(
    readonly spec: RouteSpec,
    targets: ReadonlySet<string> | undefined,
  ) {
    this.rules = spec.rules.map((r) => compile(r, targets));
  }

  /** The routes of `payload`. */
  decide(payload: Uint8Array): RouteDecision {
    const decision: RouteDecision = { targets: [], payloads: [], outcome: 'unrouted', matched: [] };
    let bytes: Uint8Array | undefined = payload;
    let nameEnd = payload.length;
    if (this.spec.subject === 'graphite') {
      if (this.spec.cleanse) {
        // A copy: the ring's bytes are every destination's (carbon-c-relay cleanses its own buffer).
        const copy = Buffer.from(payload);
        // carbon-c-relay ends a line at CR as at LF: a CRLF line's CR is not part of it.
        const length = copy.length > 0 && copy[copy.length - 1] === CR ? copy.length - 1 : copy.length;
        const end = cleanseRange(copy, 0, length, CARBON_CLEANSE, this.found);
        if (end < 0) {
          decision.outcome = 'invalid';
          return decision;
        }
        bytes = end === copy.length && copy.equals(payload) ? payload : copy.subarray(0, end);
        nameEnd = this.found.nameEnd;
      } else nameEnd = metricNameEnd(payload);
    }
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    // Rules see the metric name (a Graphite line's: up to its tags or first space), validate what follows it.
    let subject = text.slice(0, nameEnd);
    const rest = text.slice(nameEnd);
    let sent = false;
    let blackholed = false;
    let invalid = false;
    for (const [i, rule] of this.rules.entries()) {
      if (rule.kind === 'rewrite') {
        const next = rule.expression.rewrite(subject, rule.into);
        if (next !== undefined && next !== subject) {
          subject = next;
          bytes = undefined;
        }
        continue;
      }
      if (rule.any && !rule.any.some((e) => e.test(subject))) continue;
      decision.matched.push(i);
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
            decision.targets.push(t);
            decision.payloads.push(bytes);
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
    return decision;
  }
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
