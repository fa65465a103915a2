/**
 * carbon-c-relay's `rewrite … into …` against rewriteMetric(). Hand-written cases pin what the
 * real carbon-c-relay 3.7.3 printed for them (only the matched part is replaced; `\_ \^ \.` and
 * their combinations; its quirks). Then seeded random rules and metric names go through the real
 * binary in test mode (`carbon-c-relay -t`): every rewrite it prints — which rule fired, on what
 * name, with what result — must be what rewriteMetric() gives, rule after rule.
 * Without carbon-c-relay the oracle test skips (fails when CI=true).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PosixRegex } from '../../src/route/posix-ere.js';
import { expandReplacement, parseReplacement, rewriteMetric } from '../../src/route/replacement.js';
import { CARBON_RELAY, missingOracle } from '../helpers/carbon-relay.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { RelayProcess } from '../helpers/relay-process.js';
import { withTempDir } from '../helpers/temp-dir.js';

const REWRITES: [pattern: string, template: string, metric: string, result: string | undefined][] = [
  ['^(carbon|collectd)\\.([^.]+)\\.(.*)$', 'X.\\1.\\_2.\\^3.\\.3.\\_.3.\\^.3', 'carbon.Host.Abc.def', 'X.carbon.host.ABC.DEF.Abc_def.abc_def.ABC_DEF'],
  // carbon-c-relay's manual example.
  ['^server\\.(.+)\\.(.+)\\.([a-zA-Z]+)([0-9]+)', 'server.\\_1.\\2.\\3.\\3\\4', 'server.DC.role.name123', 'server.dc.role.name.name123'],
  // Only the matched part is replaced; references past the groups are empty.
  ['b', '[\\1|\\2]', 'foo.bar', 'foo.[|]ar'],
  ['(b)c', '\\1\\2\\3\\_1\\2', 'zzabczz', 'zzab_1zz'],
  ['(q)(x)?', '[\\2\\4]', 'qq.ab', '[]q.ab'],
  ['^', 'pre.', 'a.b', 'pre.a.b'],
  ['$', '.post', 'a.b', 'a.b.post'],
  ['b.d', 'X', 'aabcdee', 'aaXee'],
  ['^x', 'y', 'a.b', undefined],
  // The modifier state machine, as the binary printed it.
  [
    '^(a)(b)?(C)\\.(x\\.Y)',
    '<\\_1\\2|\\1\\_3|\\._1|\\^_1|\\__1|\\_..4|\\12|\\\\1|\\1\\\\3|\\q|\\0|\\01|\\_.4\\^.4|\\^1\\3|\\.4\\4|\\9>',
    'aC.x.Y.z',
    '<a|a_3|_1|_1|_1|x_Y||a|aC|q||a|x_y^.4|AC|x_Yx_Y|>.z',
  ],
];

test('rewriteMetric() replaces the matched part as carbon-c-relay 3.7.3 does', () => {
  for (const [pattern, template, metric, result] of REWRITES) {
    assert.equal(rewriteMetric(PosixRegex.compile(pattern), template, metric), result, `${pattern} into ${template} on ${metric}`);
  }
  const lower = PosixRegex.compile('^([A-Za-z]+)\\.(x)?(.*)$');
  assert.equal(expandReplacement('\\_1:\\2:\\^.3', 'Web.Host.Cpu', lower.exec('Web.Host.Cpu')!), 'web::HOST_CPU');
  assert.deepEqual(parseReplacement('a\\_.12b\\._1\\'), [{ literal: 'a' }, { group: 12, case: 'lower', dots: true }, { literal: 'b_1' }]);
});

interface Rule {
  pattern: string;
  template: string;
  regex: PosixRegex;
}

interface Step {
  rule: number;
  input: string;
  output: string;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[randomInt(random, 0, items.length - 1)]!;

const SEGMENTS = ['sys', 'cpu', 'Load', 'a1', 'b-2', 'x_y', 'DC', 'host', 'web01', 'idle', 'Ab', 'c'];
const PIECES = [
  '([a-z]+)',
  '([^.]+)',
  '(.*)',
  '(.+)',
  '\\.',
  '([[:digit:]]+)',
  '([A-Z][a-z]*)',
  '(sys|cpu|host)',
  '(a|ab)',
  '(x_y)?',
  '(-|_)',
  '([a-z]*)\\.',
  'cpu',
  'Load',
  '(b)',
  '[.]',
];
const LITERALS = ['.', 'x', 'new.', '_', '-', 'Z9', '..'];
const MODIFIERS = ['', '', '', '_', '^', '.', '_.', '^.', '._', '^_', '__', '..', '_..', '\\'];

function randomMetric(random: () => number): string {
  return Array.from({ length: randomInt(random, 2, 5) }, () => pick(random, SEGMENTS)).join('.');
}

/** A rule's expression: with groups (a group-less regular expression reads stale offsets in 3.7.3), or one carbon-c-relay matches without regcomp. */
function randomPattern(random: () => number): string {
  if (random() < 0.2) {
    const words = Array.from({ length: randomInt(random, 1, 2) }, () => pick(random, SEGMENTS)).join('\\.');
    return `${random() < 0.4 ? '^' : ''}${words}${random() < 0.3 ? '$' : ''}`;
  }
  let body = Array.from({ length: randomInt(random, 1, 4) }, () => pick(random, PIECES)).join('');
  if (!body.includes('(')) body = `(${body})`;
  return `${random() < 0.5 ? '^' : ''}${body}${random() < 0.3 ? '$' : ''}`;
}

/** A replacement with at most two references (so that names cannot grow past carbon-c-relay's 32 KiB buffer). */
function randomTemplate(random: () => number): string {
  let out = '';
  let references = 0;
  for (let n = randomInt(random, 1, 5); n > 0; n--) {
    const roll = random();
    if (roll < 0.45 || references === 2) out += pick(random, LITERALS);
    else if (roll < 0.9) {
      out += `\\${pick(random, MODIFIERS)}${randomInt(random, 0, 4)}`;
      references++;
    } else out += pick(random, ['\\q', '\\12', '\\1\\2', '\\_1\\2', '\\1\\_2', '\\']);
  }
  return out;
}

/** The rule as carbon-c-relay's config reads it: a quoted string keeps the byte after each backslash. */
const quoted = (s: string): string => `"${s.replace(/[\\"]/g, '\\$&')}"`;

function randomRules(random: () => number, count: number): Rule[] {
  const rules = new Map<string, Rule>();
  while (rules.size < count) {
    const pattern = randomPattern(random);
    const template = randomTemplate(random);
    const regex = PosixRegex.compile(pattern);
    // A reference to group count + 1 reads one pmatch entry past what regexec wrote: undefined in carbon-c-relay.
    const beyond = parseReplacement(template).some((part) => 'group' in part && regex.groupCount > 0 && part.group === regex.groupCount + 1);
    if (!beyond) rules.set(`${pattern}\n${template}`, { pattern, template, regex });
  }
  return [...rules.values()];
}

/** What rewriteMetric() makes of `metric` through every rule in order. */
function expectedSteps(rules: readonly Rule[], metric: string): { steps: Step[]; final: string } {
  const steps: Step[] = [];
  let name = metric;
  for (const [rule, { regex, template }] of rules.entries()) {
    const output = rewriteMetric(regex, template, name);
    if (output === undefined) continue;
    steps.push({ rule, input: name, output });
    name = output;
  }
  return { steps, final: name };
}

/** Reads what `carbon-c-relay -t` printed per metric: each rewrite (its rule, input, output) and the final name. */
function parseTestMode(stdout: string, rules: readonly Rule[]): { steps: Step[]; final: string }[] {
  const lines = stdout.split('\n');
  const sections: { steps: Step[]; final: string }[] = [];
  let steps: Step[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === 'match') {
      sections.push({ steps, final: lines[i + 1]!.replace(/^ {4}\* -> /, '') });
      steps = [];
    }
    if (lines[i] !== 'rewrite') continue;
    // `    PATTERN (regex) -> INPUT`, or `    PATTERN [strstr: …]` and `    -> INPUT` for what it matches without regcomp.
    const first = lines[++i]!;
    const regexAt = first.indexOf(' (regex) -> ');
    const pattern = regexAt >= 0 ? first.slice(4, regexAt) : first.slice(4, first.lastIndexOf(' ['));
    const input = regexAt >= 0 ? first.slice(regexAt + ' (regex) -> '.length) : lines[++i]!.replace(/^ {4}-> /, '');
    const into = lines[++i]!;
    const rule = rules.findIndex((r) => r.pattern === pattern && into.startsWith(`    into(${r.template}) -> `));
    assert.ok(rule >= 0, `no rule printed as ${first} / ${into}`);
    steps.push({ rule, input, output: into.slice(`    into(${rules[rule]!.template}) -> `.length) });
  }
  return sections;
}

test('random rewrite rules and metric names: every rewrite carbon-c-relay -t prints is what rewriteMetric() gives', async (t) => {
  if (missingOracle(t)) return;
  await withTempDir('carbon-rewrite-', async (dir) => {
    const random = mulberry32(20240608);
    const seen = { metrics: 0, rewrites: 0, partial: 0, modifiers: 0, unset: 0, simple: 0 };
    for (let batch = 0; batch < 60; batch++) {
      // Eight rules per config: every metric goes through all of them, and a rewrite's output feeds the next.
      const rules = randomRules(random, 8);
      const metrics = Array.from({ length: 80 }, () => randomMetric(random));
      const conf = path.join(dir, `rewrite-${batch}.conf`);
      const text = rules.map((r) => `rewrite ${quoted(r.pattern)}\n    into ${quoted(r.template)}\n    ;\n`).join('');
      await writeFile(conf, `cluster c forward 127.0.0.1:2003;\n${text}match * send to c;\n`);
      const carbon = new RelayProcess(spawn(CARBON_RELAY!, ['-t', '-f', conf], { stdio: ['pipe', 'pipe', 'pipe'] }));
      carbon.child.stdin!.end(metrics.map((m) => `${m} 1 1700000000\n`).join(''));
      const exit = await carbon.exit(20_000);
      assert.equal(exit.code, 0, `carbon-c-relay -t ${conf}: ${exit.stderr}`);
      const printed = parseTestMode(exit.stdout, rules);
      assert.equal(printed.length, metrics.length, 'one section per metric');
      for (const [i, metric] of metrics.entries()) {
        assert.deepEqual(printed[i], expectedSteps(rules, metric), `${metric} through\n${text}`);
        seen.metrics++;
        for (const step of printed[i]!.steps) {
          const rule = rules[step.rule]!;
          const [so, eo] = rule.regex.exec(step.input)!.pmatch[0]!;
          seen.rewrites++;
          if (so > 0 || eo < step.input.length) seen.partial++;
          if (/\\[_^.]/.test(rule.template)) seen.modifiers++;
          if (rule.regex.groupCount === 0) seen.simple++;
          if (rule.regex.exec(step.input)!.pmatch.some(([s]) => s < 0)) seen.unset++;
        }
      }
    }
    t.diagnostic(`checked: ${JSON.stringify(seen)}`);
    assert.ok(seen.rewrites > 1000 && seen.partial > 300 && seen.modifiers > 300 && seen.unset > 50 && seen.simple > 50, JSON.stringify(seen));
  });
});
