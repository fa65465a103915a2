/**
 * Oracle: the real carbon-c-relay in config test mode (`-t -t -f c.conf`: parse, exit 0 when valid)
 * must accept exactly the configurations parseCarbonConfig accepts: the hand-written cases of
 * test/helpers/carbon-config-cases.ts, then hundreds generated from its grammar and mutated
 * (tokens deleted, repeated, swapped, inserted). A configuration we refuse as "not supported" may
 * be valid for carbon-c-relay; one with a host name (resolved by carbon-c-relay, not by us) is left
 * out. Without carbon-c-relay the tests skip (fail when CI=true).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { RelayError } from '../../src/errors.js';
import { type CarbonConfig, readCarbonConfig } from '../../src/route/carbon-config.js';
import { CONFIG_CASES, type ConfigCase, writeCase } from '../helpers/carbon-config-cases.js';
import { CARBON_RELAY, missingOracle } from '../helpers/carbon-relay.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { RelayProcess } from '../helpers/relay-process.js';
import { withTempDir } from '../helpers/temp-dir.js';

const GENERATED = 400;

interface Verdict {
  ours: CarbonConfig | RelayError;
  carbonAccepts: boolean;
  carbonSays: string;
}

async function judge(c: ConfigCase): Promise<Verdict> {
  let verdict: Verdict | undefined;
  await withTempDir('carbon-oracle-config-', async (dir) => {
    await writeCase(dir, c);
    let ours: CarbonConfig | RelayError;
    try {
      ours = await readCarbonConfig('c.conf', { cwd: dir });
    } catch (error) {
      if (!(error instanceof RelayError)) throw error;
      ours = error;
    }
    const carbon = new RelayProcess(spawn(CARBON_RELAY!, ['-t', '-t', '-f', 'c.conf'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
    const exit = await carbon.exit(10_000);
    const carbonSays = `${exit.stderr}${exit.stdout}`.replace(/^\[[^\]]*\] /gm, '').trim();
    verdict = { ours, carbonAccepts: exit.code === 0, carbonSays };
  });
  return verdict!;
}

/** Runs `judge` over `cases`, two at a time (two cores). */
async function judgeAll(cases: ConfigCase[]): Promise<Verdict[]> {
  const verdicts: Verdict[] = new Array(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      verdicts[i] = await judge(cases[i]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return verdicts;
}

const notSupported = (v: Verdict): boolean => v.ours instanceof RelayError && / is not supported \(/.test(v.ours.message);

function disagreement(c: ConfigCase, v: Verdict): string | undefined {
  const oursAccepts = !(v.ours instanceof RelayError);
  if (oursAccepts === v.carbonAccepts || (!oursAccepts && notSupported(v))) return undefined;
  const ours = v.ours instanceof RelayError ? `refuses: ${v.ours.message}` : 'accepts';
  return `${c.what}: ours ${ours}; carbon-c-relay ${v.carbonAccepts ? 'accepts' : `refuses: ${v.carbonSays.split('\n')[0]}`}\n${c.text}`;
}

test(`oracle: carbon-c-relay accepts exactly the hand-written configs we accept (${CONFIG_CASES.length})`, async (t) => {
  if (missingOracle(t)) return;
  const verdicts = await judgeAll(CONFIG_CASES);
  const wrong = CONFIG_CASES.map((c, i) => disagreement(c, verdicts[i]!)).filter((d) => d !== undefined);
  assert.deepEqual(wrong, []);
  const valid = verdicts.filter((v) => v.carbonAccepts).length;
  const refusedValid = verdicts.filter((v) => notSupported(v) && v.carbonAccepts).length;
  t.diagnostic(
    `${CONFIG_CASES.length} configs: carbon-c-relay accepts ${valid}, we accept ${valid - refusedValid} and refuse ${refusedValid} as not supported`,
  );
});

// ---- generated configs ----

const NAMES = ['c', 'd', 'e', '"c"', '"x y"'];
const HOSTS = ['127.0.0.1', '127.0.0.2', '10.0.0.1', '[::1]', '127.1'];
const EXPRESSIONS = ['^a\\.', 'b$', 'foo', '"x;y"', '^[0-9]+\\ [0-9]+$', '"*"', 'a.b', '"^sys\\\\.(cpu|mem)"'];
const LISTEN_ADDRESSES = ['2003', '2004', '127.0.0.1:2003', '[::1]:2003', ':2005', '0.0.0.0:2004', '127.0.0.1', '127.0.0.2:2006'];
/** Tokens a mutation inserts: keywords, names, numbers, addresses, punctuation (all valid as a POSIX ERE, where they land as one). */
const VOCABULARY = [
  ...'cluster forward any_of failover carbon_ch fnv1a_ch jump_fnv1a_ch replication dynamic match * validate else log drop send to stop blackhole'.split(' '),
  ...'rewrite into statistics submit every seconds reset counters after interval prefix with listen type linemode transport plain ssl proto tcp'.split(' '),
  ...[';', ';', '=', '2', '0', '2003', 'c', 'd', '"c"', '127.0.0.1:2003', '[::1]:2004', 'a.b', '^a\\.', '"stop"', 'udp', 'useall', 'aggregate'],
];
const SEPARATORS = [' ', ' ', ' ', '\n', '\t', ' # note\n', '\n\n  '];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[randomInt(random, 0, items.length - 1)]!;
}

function maybe(random: () => number, p: number, tokens: () => string[]): string[] {
  return random() < p ? tokens() : [];
}

function repeat(random: () => number, min: number, max: number, tokens: () => string[]): string[] {
  const out: string[] = [];
  for (let n = randomInt(random, min, max); n > 0; n--) out.push(...tokens());
  return out;
}

/**
 * One config's tokens: 1 to 6 statements from the grammar, mostly valid (new cluster names, own
 * servers, destinations that exist, unique listeners), sometimes not (a name again, a server of
 * another cluster, an unknown destination, a port twice).
 */
function statementTokens(random: () => number): string[] {
  const tokens: string[] = [];
  const defined: string[] = [];
  let port = 2100;
  const fresh = (): boolean => random() < 0.85;
  const destination = (): string => (defined.length > 0 && fresh() ? pick(random, defined) : pick(random, [...NAMES, 'zz']));
  const destinations = (): string[] => (random() < 0.15 ? [pick(random, ['blackhole', '"blackhole"'])] : repeat(random, 1, 2, () => [destination()]));
  let statisticsSent = false;
  for (let s = randomInt(random, 1, 6); s > 0; s--) {
    // mostly a cluster first, for the rules after it to send to
    const kind = tokens.length === 0 && fresh() ? 0 : random();
    if (kind < 0.35) {
      const unused = NAMES.filter((n) => !defined.includes(n));
      const name = unused.length > 0 && fresh() ? pick(random, unused) : pick(random, NAMES);
      defined.push(name);
      const instance = (): string => pick(random, ['', '', '=a', '=b', '=007', '=7']);
      const member = (): string[] => [
        fresh() ? `${pick(random, HOSTS)}:${port++}${instance()}` : pick(random, HOSTS) + pick(random, ['', ':2003', ':2004']) + instance(),
        ...maybe(random, 0.15, () => ['proto', 'tcp']),
        ...maybe(random, 0.1, () => ['type', 'linemode']),
        ...maybe(random, 0.15, () => ['transport', 'plain', ...maybe(random, 0.3, () => ['ssl'])]),
      ];
      const count = randomInt(random, 1, 4);
      const members = Array.from({ length: count }, member).flat();
      const type =
        random() < 0.5
          ? [pick(random, ['forward', 'any_of', 'failover'])]
          : [
              pick(random, ['carbon_ch', 'fnv1a_ch', 'jump_fnv1a_ch']),
              ...maybe(random, 0.4, () => ['replication', fresh() ? String(randomInt(random, 1, count)) : pick(random, ['0', '256', String(count + 1)])]),
              ...maybe(random, 0.3, () => ['dynamic']),
            ];
      tokens.push('cluster', name, ...type, ...members, ';');
    } else if (kind < 0.65) {
      const expressions = random() < 0.4 ? ['*'] : repeat(random, 1, 3, () => [pick(random, EXPRESSIONS)]);
      const validate = maybe(random, 0.2, () => ['validate', pick(random, EXPRESSIONS), 'else', pick(random, ['log', 'drop'])]);
      tokens.push(
        'match',
        ...expressions,
        ...validate,
        ...maybe(random, 0.8, () => ['send', 'to', ...destinations()]),
        ...maybe(random, 0.3, () => ['stop']),
        ';',
      );
    } else if (kind < 0.75) {
      tokens.push('rewrite', pick(random, EXPRESSIONS), 'into', pick(random, ['b.\\1', 'x', '"a b"']), ';');
    } else if (kind < 0.85) {
      const send: string[] = statisticsSent && fresh() ? [] : ['send', 'to', ...destinations()];
      statisticsSent ||= send.length > 0;
      if (send.length > 0 && random() < 0.3) tokens.push('send', 'statistics', ...send.slice(1), ...maybe(random, 0.3, () => ['stop']), ';');
      else {
        tokens.push(
          'statistics',
          ...maybe(random, 0.4, () => ['submit', 'every', fresh() ? String(randomInt(random, 1, 120)) : '0', 'seconds']),
          ...maybe(random, 0.3, () => ['reset', 'counters', 'after', 'interval']),
          ...maybe(random, 0.3, () => ['prefix', 'with', pick(random, ['carbon.\\_2', 'x'])]),
          ...(random() < 0.5 ? send : []),
          ...maybe(random, 0.2, () => ['stop']),
          ';',
        );
      }
    } else {
      const receptor = (): string[] => [
        fresh() ? `${pick(random, ['127.0.0.1:', '[::1]:', ''])}${port++}` : pick(random, LISTEN_ADDRESSES),
        'proto',
        pick(random, ['tcp', 'udp']),
      ];
      tokens.push('listen', 'type', 'linemode', ...maybe(random, 0.2, () => ['transport', 'plain']), ...repeat(random, 1, 3, receptor), ';');
    }
  }
  return tokens;
}

/** Deletes, repeats, swaps or inserts a token. */
function mutate(random: () => number, tokens: string[]): void {
  const i = randomInt(random, 0, tokens.length - 1);
  const op = randomInt(random, 0, 3);
  if (op === 0) tokens.splice(i, 1);
  else if (op === 1) tokens.splice(i, 0, tokens[i]!);
  else if (op === 2 && i + 1 < tokens.length) [tokens[i], tokens[i + 1]] = [tokens[i + 1]!, tokens[i]!];
  else tokens.splice(i, 0, pick(random, VOCABULARY));
}

function generated(seed: number): ConfigCase {
  const random = mulberry32(seed);
  const tokens = statementTokens(random);
  for (let m = random() < 0.5 ? 0 : randomInt(random, 1, 3); m > 0; m--) mutate(random, tokens);
  const text = `${tokens.map((token) => token + pick(random, SEPARATORS)).join('')}\n`;
  return { what: `generated config, seed ${seed}`, text };
}

/** Whether a config we accept names a host carbon-c-relay would have to resolve. */
function namesHosts(config: CarbonConfig): boolean {
  const numeric = (host: string): boolean => net.isIP(host) !== 0 || /^[0-9.]+$/.test(host);
  return config.clusters.some((c) => c.members.some((m) => !numeric(m.host))) || config.listeners.some((l) => l.host !== undefined && !numeric(l.host));
}

test(`oracle: carbon-c-relay accepts exactly the generated configs we accept (${GENERATED})`, async (t) => {
  if (missingOracle(t)) return;
  const cases = Array.from({ length: GENERATED }, (_, i) => generated(1000 + i));
  const verdicts = await judgeAll(cases);
  const wrong: string[] = [];
  let compared = 0;
  let accepted = 0;
  const refusedValid = new Map<string, number>();
  const bothRefuse = new Map<string, number>();
  let withHostNames = 0;
  cases.forEach((c, i) => {
    const v = verdicts[i]!;
    if (!(v.ours instanceof RelayError) && namesHosts(v.ours)) {
      withHostNames++;
      return;
    }
    compared++;
    if (v.carbonAccepts && !(v.ours instanceof RelayError)) accepted++;
    if (v.carbonAccepts && notSupported(v)) {
      const construct = (v.ours as RelayError).message.replace(/^[^:]+:\d+: /, '').replace(/ is not supported \(.*$/, '');
      refusedValid.set(construct, (refusedValid.get(construct) ?? 0) + 1);
    }
    if (!v.carbonAccepts && v.ours instanceof RelayError) {
      const reason = v.ours.message
        .replace(/^[^:]+:\d+: /, '')
        .replace(/'[^']*'/g, "'…'")
        .replace(/[0-9]+/g, 'N');
      bothRefuse.set(reason, (bothRefuse.get(reason) ?? 0) + 1);
    }
    const d = disagreement(c, v);
    if (d !== undefined) wrong.push(d);
  });
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${compared} disagree`);
  const refused = [...refusedValid].map(([construct, n]) => `${n} ${construct}`).join(', ');
  t.diagnostic(
    `${compared} compared: both accept ${accepted}, we refuse valid ones as not supported (${refused}), both refuse the rest; ${withHostNames} left out (host names)`,
  );
  const kinds = [...bothRefuse].sort((a, b) => b[1] - a[1]);
  t.diagnostic(
    `both refuse for ${kinds.length} kinds of reason, most often: ${kinds
      .slice(0, 6)
      .map(([reason, n]) => `${n} × ${reason}`)
      .join('; ')}`,
  );
});
