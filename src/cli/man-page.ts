/**
 * `man relay`: the manual page as roff (man(7) macros), rendered from what the CLI is made of — the
 * settings table for the relay's options (text, default, scope, whether a reload applies it),
 * commander's own help model for `--version`, `--help` and every subcommand (the terms and texts
 * `--help` prints), the address kinds of src/config/address.ts, `EXIT_CODES` and the run command's
 * examples — plus the prose of ./man-sections.ts. `relay man` prints it; `prepare` (after tsc) runs
 * ./man-build.ts, which writes it to man/relay.1 for package.json's `man` field.
 * test/unit/man-page.test.ts keeps it in step with `--help` and checks it with groff.
 */
import type { Command, Help, Option } from 'commander';
import { DESTINATION_ADDRESS, LISTENER_ADDRESS, QUERY_PARAMS, type FreeValue, type ParseOptions, type Scheme } from '../config/address.js';
import type { Setting } from '../config/setting-kinds.js';
import { SETTINGS } from '../config/settings.js';
import { EXIT_CODES, type RelayErrorCode } from '../errors.js';
import { FRAMING_NAMES } from '../framing/index.js';
import * as text from './man-sections.js';
import { bold, escapeRoff, example, italic, line, prose, term } from './roff.js';
import { RUN_EXAMPLES } from './run.js';

/** Where the build writes the page, from the package root (package.json's `man` field names it). */
export const MAN_PAGE_FILE = 'man/relay.1';

/** How the page says when a reload applies a setting (test/unit/man-page.test.ts reads it back). */
export const ON_SIGHUP = { live: 'On SIGHUP: applied at once.', restart: 'On SIGHUP: waits for a restart.' } as const;

/** The manual page of `program` (buildProgram()'s): roff, one string. */
export function renderManPage(program: Command): string {
  const help = program.createHelp();
  const page = [
    '.\\" Generated from relay\'s settings table and CLI (src/cli/man-page.ts); edit those, not this file.',
    `.TH RELAY 1 "" "relay ${program.version() ?? ''}" "User Commands"`,
    // No hyphenation (HY is what groff's .EE turns it back on with) and a ragged right margin:
    // option names, addresses and paths stay whole.
    '.nr HY 0',
    '.nh',
    '.ad l',
    '.SH NAME',
    `relay \\- ${escapeRoff(summary(program))}`,
    ...synopsis(program, help),
    '.SH DESCRIPTION',
    ...text.DESCRIPTION.flatMap((paragraph) => ['.PP', line(prose(paragraph))]),
    ...options(program, help),
    ...addresses(),
    '.SH COMMANDS',
    ...help.visibleCommands(program).flatMap((command) => subcommand(command, help)),
    ...signals(),
    ...exitStatus(),
    '.SH FILES',
    ...text.FILES.flatMap((file) => ['.TP', term(file.term), line(prose(file.text))]),
    '.SH ENVIRONMENT',
    ...text.ENVIRONMENT.flatMap((variable) => ['.TP', bold(variable.name), line(prose(variable.text))]),
    ...examples(),
    '.SH SEE ALSO',
    line(prose(text.SEE_ALSO)),
  ];
  return `${page.join('\n')}\n`;
}

/** The program's description as NAME's summary: `receive datagrams … framed`, for whatis(1). */
function summary(program: Command): string {
  return program
    .description()
    .replace(/^[A-Z]/, (c) => c.toLowerCase())
    .replace(/\.$/, '');
}

function synopsis(program: Command, help: Help): string[] {
  const usages = [
    'relay [options] <listener> <destination...>',
    'relay --config <file> [options] [destination...]',
    'relay --carbon-config <file> [options] [listener...]',
    'relay --check-config [file]',
    ...everyCommand(program, help).map((command) => help.commandUsage(command)),
  ];
  return ['.SH SYNOPSIS', ...usages.flatMap((usage, i) => [...(i > 0 ? ['.br'] : []), term(usage)])];
}

/** The subcommands of `command`, theirs after each (`bench`, then `bench summarize`). */
function everyCommand(command: Command, help: Help): Command[] {
  return help.visibleCommands(command).flatMap((sub) => [sub, ...everyCommand(sub, help)]);
}

/** The relay's own options: each setting's row, and commander's `--version` and `--help`. */
function options(program: Command, help: Help): string[] {
  const settings = new Map<string, Setting>(SETTINGS.map((s) => [`--${s.key}`, s]));
  const entries = help.visibleOptions(program).flatMap((option) => {
    const setting = option.long === undefined ? undefined : settings.get(option.long);
    return ['.TP', term(help.optionTerm(option)), ...(setting ? settingText(setting) : [line(prose(sentence(help.optionDescription(option))))])];
  });
  return ['.SH OPTIONS', '.PP', line(prose(text.OPTIONS_INTRO)), ...entries];
}

/** A setting's text (README's, which says more than --help's), then its default, scope and reload. */
function settingText(s: Setting): string[] {
  // The README's texts point at its sections "(below)"; the page has its own.
  const meaning = (s.readme ?? s.help).replace(/ \(below\)/g, '');
  const shown = defaultText(s);
  const facts = [
    ...(shown === undefined ? [] : [`Default: ${shown}.`]),
    ...(s.scope === 'command line' ? [] : [`Scope: ${s.scope === 'destination' ? 'per destination' : 'global'}.`, ON_SIGHUP[s.applied]]),
    ...(s.scope === 'command line' ? ['Command line only.'] : s.commandLineOnly ? ['Not a key of the --config file.'] : []),
  ];
  return [line(prose(sentence(meaning))), '.br', line(escapeRoff(facts.join(' ')))];
}

/** The default as --help and README.md show it: its `defaultText`, the value itself, or what no value means. */
function defaultText(s: Setting): string | undefined {
  if (s.defaultText !== undefined) return s.defaultText;
  if (typeof s.default === 'number' || typeof s.default === 'string') return String(s.default);
  if (typeof s.default === 'boolean') return s.default ? 'on' : 'off';
  return s.unset;
}

function addresses(): string[] {
  const kinds = [LISTENER_ADDRESS, DESTINATION_ADDRESS];
  const schemes = Object.entries(text.SCHEME_TEXT) as [Scheme, string][];
  return [
    '.SH ADDRESSES',
    '.PP',
    line(prose(text.ADDRESS_INTRO)),
    ...schemes.flatMap(([scheme, meaning]) => {
      const where = scheme === 'unix' ? italic('/path') : `${italic('host')}:${italic('port')}`;
      const roles = kinds.filter((kind) => kind.schemes.includes(scheme)).map((kind) => roleText(kind, scheme));
      return ['.TP', `${bold(`${scheme}@`)}${where}`, line(prose(`${meaning} As ${roles.join('; as ')}.`))];
    }),
    '.SS Framings',
    '.PP',
    line(prose("A destination is framed by its `?framing=`, else by `--framing`; so is a `tcp@` or `tls@` listener's input.")),
    ...FRAMING_NAMES.flatMap((name) => ['.TP', bold(name), line(prose(sentence(text.FRAMING_TEXT[name])))]),
    '.SS Sizes and durations',
    '.PP',
    line(prose(text.VALUES_TEXT)),
  ];
}

/** `a listener it takes ?framing=… and ?split=lf`, from an address kind's table. */
function roleText(kind: ParseOptions, scheme: Scheme): string {
  const keys = kind.query[scheme] ?? [];
  const params = keys.map((key) => {
    const values = QUERY_PARAMS[key].values;
    return `\`?${key}=${Array.isArray(values) ? values.join('|') : (values as FreeValue).shown}\``;
  });
  return `a ${kind.what} it takes ${params.length === 0 ? 'no `?` parameters' : params.join(' and ')}`;
}

/** A subcommand: its usage, description, arguments and options as its --help lists them. */
function subcommand(command: Command, help: Help): string[] {
  const args = help.visibleArguments(command).flatMap((arg) => ['.TP', italic(help.argumentTerm(arg)), line(prose(sentence(help.argumentDescription(arg))))]);
  const opts = help
    .visibleOptions(command)
    .flatMap((option: Option) => ['.TP', term(help.optionTerm(option)), line(prose(sentence(help.optionDescription(option))))]);
  return [
    `.SS "${escapeRoff(commandPath(command))}"`,
    term(help.commandUsage(command)),
    '.PP',
    line(prose(sentence(help.commandDescription(command)))),
    ...args,
    ...opts,
    ...help.visibleCommands(command).flatMap((sub) => subcommand(sub, help)),
  ];
}

/** `relay bench summarize`: the command's name after its parents'. */
function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}

function signals(): string[] {
  const waiting = SETTINGS.filter((s) => s.scope !== 'command line' && s.applied === 'restart').map((s) => `\`--${s.key}\``);
  return [
    '.SH SIGNALS',
    '.TP',
    bold('SIGHUP'),
    line(prose(`${text.SIGHUP_TEXT} These options keep their running values until a restart: ${waiting.join(', ')}.`)),
    '.TP',
    `${bold('SIGINT')}, ${bold('SIGTERM')}`,
    line(prose(text.STOP_TEXT)),
  ];
}

/** Each exit status with its meaning, and the errors that end with it (src/errors.ts EXIT_CODES). */
function exitStatus(): string[] {
  const codes = Object.keys(EXIT_CODES) as RelayErrorCode[];
  const statuses = [...new Set([0, ...Object.values(EXIT_CODES)])].sort((a, b) => a - b);
  return [
    '.SH "EXIT STATUS"',
    ...statuses.flatMap((status) => {
      const meaning = text.EXIT_STATUS_TEXT[status];
      if (meaning === undefined) throw new Error(`man-sections.ts EXIT_STATUS_TEXT says nothing of exit status ${status}`);
      const errors = codes.map((code) => (EXIT_CODES[code] === status ? text.ERROR_TEXT[code] : null)).filter((e) => e !== null);
      const list = errors.length === 0 ? [] : ['.RS', ...errors.flatMap((e) => ['.IP \\(bu 2', line(prose(sentence(e)))]), '.RE'];
      return ['.TP', bold(String(status)), line(prose(meaning)), ...list];
    }),
  ];
}

function examples(): string[] {
  const width = Math.max(...RUN_EXAMPLES.filter((e) => e.note !== undefined).map((e) => e.command.length)) + 2;
  const run = RUN_EXAMPLES.map(({ command, note }) => (note === undefined ? command : `${command.padEnd(width)}# ${note}`));
  return [
    '.SH EXAMPLES',
    '.PP',
    line(prose(text.WALKTHROUGH.text)),
    ...example(text.WALKTHROUGH.lines),
    '.PP',
    'More ways to run it:',
    ...example(run),
    '.PP',
    line(prose(text.RUNNING_EXAMPLE.text)),
    ...example(text.RUNNING_EXAMPLE.lines),
  ];
}

/** `text` as a sentence: a capital first letter (commander's texts start in lower case) and a full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  return `${trimmed.replace(/^[a-z]/, (c) => c.toUpperCase())}${trimmed.endsWith('.') ? '' : '.'}`;
}
