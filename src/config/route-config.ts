/**
 * Routing rules in the TOML file (README "Routing"): `[[route]]` tables, in order, each a match
 * rule or a rewrite rule (src/route/route-spec.ts). They read whole messages; a carbon-c-relay
 * file (--carbon-config) reads Graphite lines instead.
 *
 *     [[route]]                       [[route]]
 *     match = ["^audit", "AUDIT"]     rewrite = "^app\.([a-z]+)\."
 *     to = ["archive", "siem"]        into = "apps.\1."
 *     stop = true
 *
 * On the command line, `--route` takes the keys of one table as option words (./option-words.ts):
 * `--route 'match=^audit to=archive,siem stop'`, `to` comma-separated, `match` given more than
 * once for several expressions; its rules follow the file's.
 */
import { RelayError } from '../errors.js';
import { optionWords } from './option-words.js';
import { BLACKHOLE, MAX_ROUTE_RULES, type RuleSpec } from '../route/route-spec.js';

const MATCH_KEYS = ['match', 'validate', 'invalid', 'to', 'drop', 'stop'];
const REWRITE_KEYS = ['rewrite', 'into'];

/** Reads the `[[route]]` tables of `path`. */
export function readRouteTables(path: string, value: unknown): RuleSpec[] {
  const tables = Array.isArray(value) ? value : undefined;
  if (!tables || tables.some((t) => typeof t !== 'object' || t === null || Array.isArray(t)))
    throw new RelayError('ERR_CONFIG', `${path}: route: expected [[route]] tables, each with match and to (or drop), or rewrite and into`);
  if (tables.length > MAX_ROUTE_RULES) throw new RelayError('ERR_CONFIG', `${path}: ${tables.length} routes; a relay has at most ${MAX_ROUTE_RULES}`);
  return (tables as Record<string, unknown>[]).map((t, i) => readRouteTable(t, `${path}: route ${i + 1}`));
}

/** `--route "match=^audit to=archive,siem stop"`: the [[route]] table the words stand for. */
export function parseRouteOption(text: string): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (const [key, value] of optionWords('--route', text, 'match=^audit to=archive stop')) {
    if (key === 'match' && typeof value === 'string') table.match = [...((table.match as string[] | undefined) ?? []), value];
    else if (key in table) throw new RelayError('ERR_BAD_OPTION', `--route ${JSON.stringify(text)}: ${key} is given twice`);
    else if (key === 'to' && typeof value === 'string') table.to = value.split(',').filter((t) => t !== '');
    else if ((key === 'stop' || key === 'drop') && typeof value === 'string') table[key] = value === 'true' ? true : value === 'false' ? false : value;
    else table[key] = value;
  }
  return table;
}

/** Reads the tables of the --route options (`tables`, in order): `--route N` in messages. */
export function readRouteOptions(tables: readonly Record<string, unknown>[]): RuleSpec[] {
  return tables.map((t, i) => readRouteTable(t, `--route ${i + 1}`));
}

function readRouteTable(table: Record<string, unknown>, where: string): RuleSpec {
  const fail = (reason: string): never => {
    throw new RelayError('ERR_CONFIG', `${where}: ${reason}`);
  };
  const rewrite = 'rewrite' in table;
  const allowed = rewrite ? REWRITE_KEYS : MATCH_KEYS;
  for (const key of Object.keys(table))
    if (!allowed.includes(key)) fail(`unknown key ${JSON.stringify(key)}: a ${rewrite ? 'rewrite' : 'match'} rule has ${allowed.join(', ')}`);
  const text = (key: string): string | undefined => {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') fail(`${key}: expected a non-empty string, got ${JSON.stringify(v)}`);
    return v as string;
  };
  const texts = (key: string): string[] | undefined => {
    const v = table[key];
    if (v === undefined) return undefined;
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0 || list.some((x) => typeof x !== 'string' || x === '')) fail(`${key}: expected a string or a list of strings`);
    return list as string[];
  };
  const flag = (key: string): boolean => {
    const v = table[key] ?? false;
    if (typeof v !== 'boolean') fail(`${key}: expected true or false`);
    return v as boolean;
  };
  if (rewrite) {
    const into = text('into') ?? fail('rewrite without into: give into = "REPLACEMENT" (\\1..\\9 refer to the groups)');
    return { kind: 'rewrite', expression: text('rewrite')!, into, where };
  }
  const validate = text('validate');
  const invalid = text('invalid');
  if (invalid !== undefined && validate === undefined) fail('invalid: only with validate');
  if (invalid !== undefined && invalid !== 'drop' && invalid !== 'log') fail('invalid: expected "drop" or "log"');
  const to = texts('to') ?? [];
  const drop = flag('drop');
  if (drop && to.length > 0) fail('drop and to: a rule drops or sends, not both');
  if (!drop && to.length === 0 && validate === undefined) fail('no target: give to = ["NAME", ...] (destinations or groups), or drop = true');
  if (to.includes(BLACKHOLE)) fail(`to: ${JSON.stringify(BLACKHOLE)} is not a name here: write drop = true`);
  return {
    kind: 'match',
    match: texts('match'),
    validate: validate === undefined ? undefined : { expression: validate, otherwise: (invalid ?? 'drop') as 'drop' | 'log' },
    to,
    drop,
    stop: flag('stop'),
    where,
  };
}
