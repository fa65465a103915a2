/**
 * The relay's TOML configuration file (`relay --config relay.toml`), parsed by smol-toml. Its
 * keys are the run command's long option names, and every value goes through that setting's own
 * parser (the same checks and messages as the command line, prefixed with the file and the key):
 * there is one definition of each setting, in settings.ts. Destinations are `[[destination]]` tables.
 *
 *   listen = ["udp@0.0.0.0:2008", "tcp@0.0.0.0:2008"]
 *   buffer = "64MiB"
 *   [[destination]]
 *   address = "tls@logs-a:6514"
 *   framing = "octet"
 *   tls-ca = "/etc/relay/ca.pem"
 *
 * Relative file paths in the file (TLS files, spill-dir) are relative to the file's directory, so
 * a configuration directory can be moved whole; on the command line they are relative to the
 * working directory, as usual.
 *
 * Errors are one line, `FILE: KEY: what was wrong` (`relay.toml: destination 3: bad address …`),
 * with exit code 2; a key the relay does not know is an error, never ignored.
 */
import { readFileSync } from 'node:fs';
import nodePath from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { DESTINATION_ADDRESS, parseEndpoint, type Endpoint } from './address.js';
import { RelayError, type RelayErrorCode } from '../errors.js';
import { isFramingName, FRAMING_NAMES, type FramingName } from '../framing/index.js';
import type { Setting } from './setting-kinds.js';
import { SETTINGS } from './settings.js';
import type { SettingKey } from './setting-values.js';
import type { TlsSettings } from './tls-files.js';
import { readGroupTable, type GroupTable } from './group-config.js';
import { readRouteTables } from './route-config.js';
import type { RuleSpec } from '../route/route-spec.js';

/** One `[[destination]]` table, its address parsed; TLS keys only where the table gives them. */
export interface FileDestination {
  endpoint: Endpoint;
  tls: Partial<TlsSettings>;
  /** `relay.toml: destination 2`, to prefix later errors about it (its TLS files). */
  where: string;
  /** The name routes send to it by (default: its address). */
  name?: string;
}

export interface FileConfig {
  path: string;
  /** Setting values by key (max-message), each parsed by that setting's parser. */
  options: Map<SettingKey, unknown>;
  destinations: FileDestination[];
  /** `[[group]]` tables, their members read as destination tables. */
  groups: GroupTable<FileDestination>[];
  /** `[[route]]` tables, in order (none: every destination gets every message). */
  routes: RuleSpec[];
}

/** The settings a file may give, by key (--config and --check-config make no sense in the file itself). */
const FILE_SETTINGS = new Map<string, Setting>(SETTINGS.filter((s) => !s.commandLineOnly).map((s) => [s.key, s]));
/** Keys of a [[destination]] table, and the TLS setting each one fills. */
const DESTINATION_TLS_KEYS: Record<string, keyof TlsSettings> = {
  'tls-ca': 'caFile',
  'tls-cert': 'certFile',
  'tls-key': 'keyFile',
  servername: 'servername',
};
const DESTINATION_KEYS = ['address', 'name', 'framing', ...Object.keys(DESTINATION_TLS_KEYS)];

/** Reads and checks `path` against the settings. Throws RelayError (exit 2). */
export function readConfigFile(path: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RelayError('ERR_CONFIG', `cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let document: Record<string, unknown>;
  try {
    document = parse(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new RelayError('ERR_CONFIG', `${path}: line ${error.line}, column ${error.column}: not valid TOML: ${reason}`, { cause: error });
    }
    throw error;
  }
  const options = new Map<SettingKey, unknown>();
  let destinations: FileDestination[] = [];
  let groups: GroupTable<FileDestination>[] = [];
  let routes: RuleSpec[] = [];
  for (const [key, value] of Object.entries(document)) {
    if (key === 'route') {
      routes = readRouteTables(path, value);
      continue;
    }
    if (key === 'destination') {
      destinations = readDestinations(path, value);
      continue;
    }
    if (key === 'group') {
      groups = readGroups(path, value);
      continue;
    }
    const setting = FILE_SETTINGS.get(key);
    if (!setting) {
      const known = [...FILE_SETTINGS.keys(), 'destination', 'group', 'route'];
      throw new RelayError('ERR_CONFIG', `${path}: unknown key ${JSON.stringify(key)}${suggest(key, known)}`);
    }
    const parsed = readSetting(path, setting, value);
    options.set(setting.key as SettingKey, setting.path ? relativeTo(path, parsed as string) : parsed);
  }
  return { path, options, destinations, groups, routes };
}

/** One top-level key through its setting's parser. */
function readSetting(path: string, setting: Setting, value: unknown): unknown {
  const { key } = setting;
  const fail = (reason: string, code: RelayErrorCode = 'ERR_BAD_OPTION', cause?: unknown): never => {
    throw new RelayError(code, `${path}: ${reason}`, cause === undefined ? undefined : { cause });
  };
  if (setting.arg === undefined) {
    if (typeof value !== 'boolean') fail(`${key}: expected true or false, got ${describe(value)}`);
    return value;
  }
  const repeatable = Array.isArray(setting.default);
  const items = repeatable && Array.isArray(value) ? value : [value];
  if (!repeatable && Array.isArray(value)) fail(`${key}: expected one value, got a list`);
  let result: unknown = repeatable ? [] : undefined;
  for (const item of items) {
    if (typeof item !== 'string' && typeof item !== 'number')
      fail(`${key}: expected a string${repeatable ? ' or a list of strings' : ''}, got ${describe(item)}`);
    const text = String(item);
    if (setting.choices && !setting.choices.includes(text)) fail(`${key}: ${JSON.stringify(text)} is not one of ${setting.choices.join(', ')}`);
    if (!setting.parse) {
      result = text;
      continue;
    }
    try {
      result = setting.parse(text, result);
    } catch (error) {
      if (!(error instanceof RelayError)) throw error;
      // The parsers name the option as typed (`--buffer "64XB": …`): name the key instead.
      const message = error.message.startsWith(`--${key} `) ? `${key}${error.message.slice(key.length + 2)}` : `${key}: ${error.message}`;
      fail(message, error.code, error);
    }
  }
  return result;
}

function readDestinations(path: string, value: unknown): FileDestination[] {
  const tables = Array.isArray(value) ? value : undefined;
  if (!tables || tables.some((t) => typeof t !== 'object' || t === null || Array.isArray(t))) {
    throw new RelayError('ERR_CONFIG', `${path}: destination: expected [[destination]] tables, each with address = "tcp@HOST:PORT"`);
  }
  return (tables as Record<string, unknown>[]).map((table, i) => readDestinationTable(path, table, `${path}: destination ${i + 1}`));
}

function readGroups(path: string, value: unknown): GroupTable<FileDestination>[] {
  const tables = Array.isArray(value) ? value : undefined;
  if (!tables || tables.some((t) => typeof t !== 'object' || t === null || Array.isArray(t))) {
    throw new RelayError('ERR_CONFIG', `${path}: group: expected [[group]] tables, each with name, mode and members`);
  }
  return (tables as Record<string, unknown>[]).map((table, i) =>
    readGroupTable(table, `${path}: group ${i + 1}`, (member, where) => readDestinationTable(path, member, where)),
  );
}

/** One destination's table: a [[destination]], or a group member given as a table. */
function readDestinationTable(path: string, table: Record<string, unknown>, where: string): FileDestination {
  const fail = (reason: string, code: RelayErrorCode = 'ERR_BAD_OPTION'): never => {
    throw new RelayError(code, `${where}: ${reason}`);
  };
  for (const key of Object.keys(table)) {
    if (!DESTINATION_KEYS.includes(key)) fail(`unknown key ${JSON.stringify(key)}${suggest(key, DESTINATION_KEYS)}`, 'ERR_CONFIG');
  }
  const string = (key: string): string | undefined => {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') fail(`${key}: expected a non-empty string, got ${describe(v)}`);
    return v as string;
  };
  const address = string('address') ?? fail('no address: give address = "tcp@HOST:PORT" (or tls@)');
  let endpoint: Endpoint;
  try {
    endpoint = parseEndpoint(address, { ...DESTINATION_ADDRESS, what: 'address' });
  } catch (error) {
    throw new RelayError((error as RelayError).code ?? 'ERR_BAD_ADDRESS', `${where}: ${(error as Error).message}`, { cause: error });
  }
  const framing = string('framing');
  if (framing !== undefined) {
    if (endpoint.scheme === 'relp') fail('framing: a relp@ destination frames each message as a RELP command: it takes no framing');
    if (!isFramingName(framing)) fail(`framing: ${JSON.stringify(framing)} is not one of ${FRAMING_NAMES.join(', ')}`);
    if (endpoint.framing !== undefined && endpoint.framing !== framing) fail(`framing is given twice: ${framing} here, ${endpoint.framing} in the address`);
    endpoint = withFraming(endpoint, framing as FramingName);
  }
  const tls: Partial<TlsSettings> = {};
  for (const [key, field] of Object.entries(DESTINATION_TLS_KEYS)) {
    const v = string(key);
    if (v === undefined) continue;
    if (endpoint.scheme !== 'tls') fail(`${key} is for tls@ destinations, and this one is ${endpoint.scheme}@`);
    tls[field] = FILE_SETTINGS.get(key)?.path ? relativeTo(path, v!) : v;
  }
  const name = string('name');
  if (name !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) fail('name: expected letters, digits, "_", "." or "-" (routes send to it by this name)');
  return { endpoint, tls, where, name };
}

/** `file` (from the config file at `configPath`) as a path: a relative one is relative to the config file's directory. */
function relativeTo(configPath: string, file: string): string {
  return nodePath.resolve(nodePath.dirname(configPath), file);
}

/** `endpoint` with an explicit framing (its canonical text says so, as `?framing=` would). */
function withFraming(endpoint: Endpoint, framing: FramingName): Endpoint {
  return parseEndpoint(`${endpoint.text.split('?')[0]}?framing=${framing}`, DESTINATION_ADDRESS);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a table';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** ` (did you mean "buffer"?)` when one known key is within two edits of `key`. */
function suggest(key: string, known: string[]): string {
  const near = known.filter((k) => editDistance(k, key) <= 2);
  return near.length === 1 ? ` (did you mean ${JSON.stringify(near[0])}?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
