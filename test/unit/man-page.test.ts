/**
 * The manual page (src/cli/man-page.ts, printed by `relay man`) against what the CLI says of itself:
 * each command's section lists exactly the long options its --help lists; each relay option shows
 * its settings row's default, scope and reload; SIGHUP names the restart-only options; every `?`
 * parameter the page documents parses and no other does; the exit statuses are EXIT_CODES'; and
 * groff reads the page without one warning (skipped without groff-base, failed under CI=true).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { DESTINATION_ADDRESS, LISTENER_ADDRESS, parseEndpoint, QUERY_PARAMS, type QueryKey, type Scheme } from '../../src/config/address.js';
import { SETTINGS } from '../../src/config/settings.js';
import { restartOnlyKeys } from '../../src/config/setting-values.js';
import { EXIT_CODES, type RelayErrorCode } from '../../src/errors.js';
import { MAN_PAGE_FILE, ON_SIGHUP } from '../../src/cli/man-page.js';
import { ERROR_TEXT } from '../../src/cli/man-sections.js';
import { escapeRoff, line, prose, term } from '../../src/cli/roff.js';
import { cli } from '../helpers/cli.js';
import { findExecutable, missingServer } from '../helpers/haproxy.js';

/** Roff back to the text a reader sees (for the escapes the page uses). */
function plain(roff: string): string {
  return roff
    .replace(/\\f[BIR]/g, '')
    .replace(/\\&/g, '')
    .replace(/\\-/g, '-')
    .replace(/\\\((aq|ga|ha|ti|bu)/g, (_, name: string) => ({ aq: "'", ga: '`', ha: '^', ti: '~', bu: '*' })[name]!)
    .replace(/\\\[u([0-9A-F]{4,})\]/g, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/\\e/g, '\\');
}

/** The body of section `title` (`.SH TITLE` or `.SH "TITLE"`), up to the next `.SH`. */
function section(page: string, title: string): string {
  const parts = page.split(/^\.SH /m);
  const found = parts.find((part) => part.startsWith(`${title}\n`) || part.startsWith(`"${title}"\n`));
  assert.ok(found !== undefined, `the page has no section ${title}`);
  return found.slice(found.indexOf('\n') + 1);
}

/** The `.TP` entries of a section's body: the tag line and the text after it, in plain text. */
function entries(body: string): { tag: string; text: string }[] {
  return body
    .split(/^\.TP\n/m)
    .slice(1)
    .map((entry) => {
      const [tag = '', ...rest] = entry.split('\n');
      // Requests (.br, .RS, .IP) out; text lines joined as groff fills them.
      const text = rest.filter((l) => !l.startsWith('.') || l.startsWith('\\&'));
      return { tag: plain(tag), text: plain(text.join(' ')).trim() };
    });
}

/** The long options of a section's entries, in order. */
function pageOptions(body: string): string[] {
  return entries(body)
    .filter((e) => e.tag.startsWith('-'))
    .map((e) => /--[a-z-]+/.exec(e.tag)![0]);
}

/** The long options a --help output lists, in order. */
function helpOptions(help: string): string[] {
  const start = help.indexOf('Options:\n');
  assert.ok(start >= 0, help);
  return [...paragraph(help, start).matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]!);
}

/** The subcommands a --help output lists. */
function helpCommands(help: string): string[] {
  const start = help.indexOf('Commands:\n');
  if (start < 0) return [];
  return [...paragraph(help, start).matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!);
}

/** The block of --help output from `start` to the next blank line (or the end). */
function paragraph(help: string, start: number): string {
  const end = help.indexOf('\n\n', start);
  return help.slice(start, end < 0 ? undefined : end + 1);
}

/** Each option's --help text on one line, by long name. */
function helpTexts(help: string): Map<string, string> {
  const options = paragraph(help, help.indexOf('Options:\n'))
    .split(/\n {2}(?=-)/)
    .slice(1);
  return new Map(options.map((text) => [/--([a-z-]+)/.exec(text)![0], text.replace(/\s+/g, ' ').trim()]));
}

async function manPage(): Promise<string> {
  const { code, stdout, stderr } = await cli(['man']);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
  return stdout;
}

async function helpOf(command: string[]): Promise<string> {
  const { code, stdout } = await cli([...command, '--help']);
  assert.equal(code, 0);
  return stdout;
}

test('man page: relay man prints it on stdout, exit 0; package.json installs the file the build writes', async () => {
  const page = await manPage();
  assert.match(page, /^\.\\" Generated .*\n\.TH RELAY 1 "" "relay \d+\.\d+\.\d+" "User Commands"\n/);
  for (const title of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'ADDRESSES', 'COMMANDS', 'SIGNALS', 'EXIT STATUS', 'FILES', 'ENVIRONMENT', 'EXAMPLES']) {
    assert.ok(section(page, title).length > 0, title);
  }
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { man?: string[]; scripts: Record<string, string> };
  assert.deepEqual(pkg.man, [`./${MAN_PAGE_FILE}`]);
  assert.match(pkg.scripts.prepare!, /^tsc -p tsconfig\.json && node dist\/cli\/man-build\.js( && |$)/);
});

test('man page: OPTIONS has exactly the options relay --help lists, in its order', async () => {
  const [page, help] = [await manPage(), await helpOf([])];
  const listed = helpOptions(help);
  assert.ok(listed.length > 30, `--help lists ${listed.length} options`);
  assert.deepEqual(pageOptions(section(page, 'OPTIONS')), listed);
});

test("man page: each subcommand's section has exactly the options and arguments its --help lists", async () => {
  const page = await manPage();
  const subsections = new Map(
    section(page, 'COMMANDS')
      .split(/^\.SS /m)
      .slice(1)
      .map((part) => [JSON.parse(part.slice(0, part.indexOf('\n'))) as string, part]),
  );
  const commands: string[][] = [];
  const visit = async (parent: string[]): Promise<void> => {
    for (const name of helpCommands(await helpOf(parent))) {
      commands.push([...parent, name]);
      await visit([...parent, name]);
    }
  };
  await visit([]);
  assert.ok(commands.length >= 7, `relay --help lists ${commands.length} commands`);
  assert.deepEqual(
    [...subsections.keys()],
    commands.map((c) => `relay ${c.join(' ')}`),
  );
  let options = 0;
  for (const command of commands) {
    const help = await helpOf(command);
    const body = subsections.get(`relay ${command.join(' ')}`)!;
    assert.deepEqual(pageOptions(body), helpOptions(help), `relay ${command.join(' ')}`);
    options += helpOptions(help).length;
    // Arguments: --help's "Arguments:" names, the page's entries whose tag is not an option.
    const args = help.includes('Arguments:\n') ? [...paragraph(help, help.indexOf('Arguments:\n')).matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]) : [];
    assert.deepEqual(
      entries(body)
        .filter((e) => !e.tag.startsWith('-'))
        .map((e) => e.tag),
      args,
      `relay ${command.join(' ')} arguments`,
    );
  }
  assert.ok(options > 30, `the subcommands have ${options} options`);
});

test("man page: each relay option shows its settings row's default, scope and reload", async () => {
  const [page, help] = [await manPage(), await helpOf([])];
  const byOption = new Map(entries(section(page, 'OPTIONS')).map((e) => [/--[a-z-]+/.exec(e.tag)![0], e.text]));
  const texts = helpTexts(help);
  const restart = new Set([...restartOnlyKeys(), 'metrics']);
  for (const s of SETTINGS) {
    const text = byOption.get(`--${s.key}`)!.replace(/\s+/g, ' ');
    // The default as --help shows it (quotes of a string value dropped), or what no value means.
    const shown = /\(.*default: (.*)\)$/.exec(texts.get(`--${s.key}`)!)?.[1]?.replace(/^"(.*)"$/, '$1');
    const expected = shown === undefined || shown === '[]' ? s.unset : shown === 'false' ? 'off' : shown;
    const paged = /Default: (.*?)\. (?:Scope|Command)/.exec(text)?.[1];
    assert.equal(paged, expected, `--${s.key}: ${text}`);
    if (s.scope === 'command line') {
      assert.ok(text.endsWith('Command line only.') && !text.includes('SIGHUP:'), `--${s.key}: ${text}`);
      continue;
    }
    assert.ok(text.includes(`Scope: ${s.scope === 'destination' ? 'per destination' : 'global'}.`), `--${s.key}: ${text}`);
    assert.ok(text.includes(restart.has(s.key) ? ON_SIGHUP.restart : ON_SIGHUP.live), `--${s.key}: ${text}`);
  }
  const defaults = new Map([...byOption].map(([option, text]) => [option, /Default: (.*?)\. /.exec(text.replace(/\s+/g, ' '))?.[1]]));
  assert.equal(defaults.get('--buffer'), '64MiB');
  assert.equal(defaults.get('--framing'), 'len32le');
  assert.equal(defaults.get('--unix-mode'), '0666');
  assert.equal(defaults.get('--drain-timeout'), '5s');
  assert.equal(defaults.get('--spill-dir'), 'none');
  assert.equal(defaults.get('--tls-ca'), 'system store');
  assert.equal(defaults.get('--quiet'), 'off');
  assert.equal(defaults.get('--config'), undefined);
  assert.equal([...byOption.values()].filter((text) => text.includes(ON_SIGHUP.restart)).length, restart.size);
});

test('man page: SIGHUP names exactly the options that wait for a restart', async () => {
  const sighup = entries(section(await manPage(), 'SIGNALS')).find((e) => e.tag === 'SIGHUP')!;
  const list = /until a restart: (.*)\.$/.exec(sighup.text.trim())![1]!.split(', ');
  assert.deepEqual(new Set(list), new Set([...restartOnlyKeys(), 'metrics'].map((key) => `--${key}`)));
  assert.equal(list.length, 12);
});

test('man page: every ? parameter an address documents parses for that scheme and role, and no other does', async () => {
  const schemes = entries(section(await manPage(), 'ADDRESSES')).filter((e) => e.tag.includes('@'));
  const kinds = { listener: LISTENER_ADDRESS, destination: DESTINATION_ADDRESS };
  const documented = new Set(schemes.map((e) => e.tag.slice(0, e.tag.indexOf('@'))));
  assert.deepEqual(documented, new Set([...LISTENER_ADDRESS.schemes, ...DESTINATION_ADDRESS.schemes]));
  let checked = 0;
  for (const { tag, text } of schemes) {
    const scheme = tag.slice(0, tag.indexOf('@')) as Scheme;
    const place = scheme === 'unix' ? '/tmp/relay-man-test.sock' : '127.0.0.1:2008';
    for (const [what, kind] of Object.entries(kinds)) {
      const said = new RegExp(`[Aa]s a ${what} it takes (.*?)[.;]`).exec(text.replace(/\s+/g, ' '));
      assert.equal(said !== null, kind.schemes.includes(scheme), `${scheme}@ as a ${what}: ${text}`);
      if (said === null) continue;
      // A free value (?fdname=NAME) is tried with a sample name.
      const params = [...said[1]!.matchAll(/\?([a-z]+)=([A-Za-z0-9|]+)/g)].map((m) => [m[1] as QueryKey, m[2]!.split('|').map(sampleOf)] as const);
      for (const [key, values] of params) {
        for (const value of values) {
          assert.doesNotThrow(() => parseEndpoint(`${scheme}@${place}?${key}=${value}`, kind), `${scheme}@ ${what} ?${key}=${value}`);
          checked++;
        }
      }
      for (const key of Object.keys(QUERY_PARAMS) as QueryKey[]) {
        if (params.some(([k]) => k === key)) continue;
        const values = QUERY_PARAMS[key].values;
        const value = Array.isArray(values) ? values[0]! : sampleOf('NAME');
        assert.throws(
          () => parseEndpoint(`${scheme}@${place}?${key}=${value}`, kind),
          /bad/,
          `${scheme}@ ${what} ?${key}= is not documented, so it must not parse`,
        );
      }
    }
  }
  assert.ok(checked > 15, `${checked} documented parameters`);
});

/** A value as the page shows it, with a free one (NAME) replaced by a name it takes. */
function sampleOf(shown: string): string {
  return shown === 'NAME' ? 'relay-udp' : shown;
}

test('man page: EXIT STATUS has 0 and each of EXIT_CODES, every error under its own, and 2 is what a usage error exits with', async () => {
  const body = section(await manPage(), 'EXIT STATUS');
  const statuses = entries(body);
  assert.deepEqual(
    statuses.map((s) => s.tag),
    [...new Set([0, ...Object.values(EXIT_CODES)])].sort((a, b) => a - b).map(String),
  );
  assert.deepEqual(
    statuses.map((s) => s.tag),
    ['0', '1', '2'],
  );
  for (const code of Object.keys(EXIT_CODES) as RelayErrorCode[]) {
    const said = ERROR_TEXT[code];
    if (said === null) continue;
    const under = statuses.find((s) => s.text.includes(plain(prose(said.slice(1)))));
    assert.equal(under?.tag, String(EXIT_CODES[code]), `${code}: ${said}`);
  }
  const usage = await cli(['--no-such-option']);
  assert.equal(usage.code, 2);
  assert.match(statuses.find((s) => s.tag === '2')!.text, /A usage error, .*an unknown option/s);
});

test('roff: specials are escaped, a line never opens with a request, terms set names bold and placeholders italic', () => {
  assert.equal(escapeRoff("a-b\\c 'd' `e` ^f ~g 5×"), 'a\\-b\\ec \\(aqd\\(aq \\(gae\\(ga \\(haf \\(tig 5\\[u00D7]');
  assert.equal(line(escapeRoff('.relay.lock')), '\\&.relay.lock');
  assert.equal(line("'raw"), "\\&'raw");
  assert.equal(line(escapeRoff("'quoted'")), '\\(aqquoted\\(aq');
  assert.equal(line(escapeRoff('not .first')), 'not .first');
  assert.equal(prose('a `--b`\n   c'), 'a \\fB\\-\\-b\\fR c');
  assert.equal(term('-q, --quiet'), '\\fB\\-q,\\fR \\fB\\-\\-quiet\\fR');
  assert.equal(term('--check-config [file]'), '\\fB\\-\\-check\\-config\\fR [\\fIfile\\fR]');
  assert.equal(term('--unix-owner <user[:group]>'), '\\fB\\-\\-unix\\-owner\\fR \\fIuser[:group]\\fR');
  assert.equal(
    term('relay bench summarize [options] <runs.jsonl...>'),
    '\\fBrelay\\fR \\fBbench\\fR \\fBsummarize\\fR [\\fIoptions\\fR] \\fIruns.jsonl\\fR...',
  );
  assert.equal(term('<dir>/.relay.lock'), '\\fIdir\\fR\\fB/.relay.lock\\fR');
});

test('man page: groff reads it without a warning, and shows what a reader types as typed', async (t) => {
  if (missingServer(t, 'groff', 'GROFF', 'apt-get install groff-base')) return;
  const groff = findExecutable('groff', 'GROFF')!;
  const page = await manPage();
  for (const device of ['utf8', 'ps']) {
    const check = spawnSync(groff, ['-man', '-ww', '-z', `-T${device}`], { input: page, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stderr, '', `groff -man -ww -T${device} warns`);
  }
  // Plain ASCII, wide lines, no overstriking: what a reader copies from the page.
  const shown = spawnSync(groff, ['-man', '-Tascii', '-rLL=250n', '-P-c', '-P-b', '-P-o', '-P-u'], { input: page, encoding: 'utf8' });
  assert.equal(shown.status, 0, shown.stderr);
  assert.doesNotMatch(shown.stdout, /\\f|\\\(|\\\[/, 'an escape that groff did not read');
  for (const s of SETTINGS) assert.match(shown.stdout, new RegExp(`^ {7}${s.short ? `${s.short}, ` : ''}--${s.key}\\b`, 'm'), `--${s.key}`);
  assert.match(shown.stdout, /^ +printf 'hello\\nworld\\n' \| relay send udp@127\.0\.0\.1:2008$/m);
  assert.match(shown.stdout, /^ +relay udp@\[::\]:514 'tcp@logs-a:6514\?framing=octet' 'tcp@logs-b:6514\?framing=octet'$/m);
  assert.match(shown.stdout, /Default: 64MiB\. Scope: global\. On SIGHUP: waits for a restart\./);
});
