/**
 * The one parser of endpoint addresses: `SCHEME@HOST:PORT[?KEY=VALUE[&KEY=VALUE]]` for listeners
 * and destinations, `unix@/ABSOLUTE/PATH[?KEY=VALUE]` for a Unix datagram socket listener, and bare
 * `HOST:PORT` (e.g. the metrics endpoint). Everything else in the relay
 * receives an `Endpoint` and never looks at the text again.
 *
 * The `?` parameters are a table (QUERY_PARAMS: each key and its values); an address kind
 * (ParseOptions: LISTENER_ADDRESS, DESTINATION_ADDRESS) says which keys each scheme takes.
 * Adding a parameter is a row in the table, a field in QueryParams and its schemes in the kinds.
 *
 * HOST is an IPv4 dotted quad, a bracketed IPv6 address (zone ids allowed), or an RFC 1123 name.
 * Hosts are canonicalised (IPv6 compressed and lowercased, names lowercased) so that `text` is
 * stable: two spellings of one endpoint give the same `text`.
 *
 * Errors are one line, `bad <what> "<input>": <what was wrong>, <what was expected>`, and carry
 * code ERR_BAD_ADDRESS.
 */
import { SocketAddress, isIPv6 } from 'node:net';
import { RelayError } from '../errors.js';
import { FRAMING_NAMES, type FramingName } from '../framing/index.js';
import { SPLIT_NAMES, type SplitName } from '../ingest/line-split.js';
import { PROXY_VERSIONS, type ProxyVersion } from '../framing/proxy-header.js';

/**
 * `relp` (RELP over TCP, as rsyslog's imrelp speaks it) is for `relay sink` and destinations;
 * `unix` (a Unix datagram socket at a path, the local syslog socket) for listeners.
 */
export type Scheme = 'udp' | 'tcp' | 'tls' | 'relp' | 'unix';
/** `path`: a unix@ endpoint, whose host is its socket path. */
export type HostKind = 'ipv4' | 'ipv6' | 'name' | 'path';

/** What the `?` query of an address may set; a key not given is absent. */
export interface QueryParams {
  /** `?framing=NAME`: the framing of a destination or a tcp@ listener's input stream. */
  framing?: FramingName;
  /** `?split=lf`: a udp@ or unix@ listener makes each line of a datagram one message. */
  split?: SplitName;
  /** `?proxy=v1|v2`: a tcp@ or tls@ listener's connections each begin with a PROXY protocol header. */
  proxy?: ProxyVersion;
  /** `?fdname=NAME`: under socket activation, the listener takes the socket systemd passed under this FileDescriptorName= (src/service/). */
  fdname?: string;
}
export type QueryKey = keyof QueryParams;

/** A value that is a name, not one of a list: what it may hold, how messages show it, and the rule in words. */
export interface FreeValue {
  pattern: RegExp;
  shown: string;
  rule: string;
}

/**
 * Each `?` key: the values it takes (in the order messages list them, or a FreeValue) and where it
 * applies (for messages and the manual page).
 */
export const QUERY_PARAMS: { readonly [K in QueryKey]-?: { values: readonly NonNullable<QueryParams[K]>[] | FreeValue; appliesTo: string } } = {
  framing: { values: FRAMING_NAMES, appliesTo: 'destinations and tcp listeners' },
  split: { values: SPLIT_NAMES, appliesTo: 'udp and unix listeners' },
  proxy: { values: PROXY_VERSIONS, appliesTo: 'tcp and tls listeners' },
  // What systemd takes in FileDescriptorName= (printable ASCII without ':', LISTEN_FDNAMES's separator), less the query's own '&' and '='.
  fdname: {
    values: { pattern: /^(?!.*[:&=])[\x21-\x7e]{1,255}$/, shown: 'NAME', rule: '1 to 255 printable ASCII characters without spaces, ":", "&" or "="' },
    appliesTo: 'listeners',
  },
};
/** Canonical order of the keys in `text`. */
const QUERY_KEYS = Object.keys(QUERY_PARAMS) as QueryKey[];

export interface Endpoint {
  scheme: Scheme;
  /** Without brackets: '127.0.0.1', '::1', 'fe80::1%eth0', 'logs-a.example'; unix@: the socket path, '/dev/log'. */
  host: string;
  /** 0..65535; 0 only where the caller allowed it (a listener binding an ephemeral port), and for unix@. */
  port: number;
  kind: HostKind;
  /** Only from '?framing=NAME'; undefined means "the configured default". */
  framing: FramingName | undefined;
  /** Only from '?split=lf' (udp and unix listeners); absent means one datagram is one message. */
  split?: SplitName;
  /** Only from '?proxy=v1|v2' (tcp and tls listeners): the PROXY protocol header each connection begins with. */
  proxy?: ProxyVersion;
  /** Only from '?fdname=NAME' (listeners): the FileDescriptorName= of the socket systemd passes it. */
  fdname?: string;
  /** Canonical text: 'tcp@[::1]:2009', 'udp@127.0.0.1:2008?split=lf', 'tcp@host:1?framing=lf'. */
  text: string;
}

export interface HostPort {
  host: string;
  port: number;
  kind: HostKind;
  /** Canonical `HOST:PORT`, IPv6 in brackets. */
  text: string;
}

export interface ParseOptions {
  /** Schemes this kind of endpoint may use. */
  schemes: readonly Scheme[];
  /** Whether port 0 (bind an ephemeral port) is acceptable. */
  allowPortZero: boolean;
  /** The `?` keys each scheme takes (a scheme not listed takes none). */
  query: { readonly [S in Scheme]?: readonly QueryKey[] };
  /** What the endpoint is, for messages: 'listener', 'destination'. */
  what: string;
}

const SCHEMES: readonly Scheme[] = ['udp', 'tcp', 'tls', 'relp', 'unix'];

/**
 * A listener: udp@ (optionally ?split=lf), tcp@ / tls@ for framed input (optionally ?framing=,
 * and ?proxy=v1|v2 behind a load balancer that sends the PROXY protocol), or unix@/PATH
 * (optionally ?split=lf); each may name the socket systemd passes it (?fdname=NAME); port 0 (an
 * ephemeral port) allowed. A udp@ listener has always
 * accepted ?framing= (it means nothing there).
 */
export const LISTENER_ADDRESS: ParseOptions = {
  schemes: ['udp', 'tcp', 'tls', 'unix'],
  allowPortZero: true,
  query: { udp: ['framing', 'split', 'fdname'], tcp: ['framing', 'proxy', 'fdname'], tls: ['framing', 'proxy', 'fdname'], unix: ['split', 'fdname'] },
  what: 'listener',
};
/** A destination: tcp@, or tls@ (TLS over TCP), with an optional ?framing=; or relp@ (RELP frames each message itself). */
export const DESTINATION_ADDRESS: ParseOptions = {
  schemes: ['tcp', 'tls', 'relp'],
  allowPortZero: false,
  query: { tcp: ['framing'], tls: ['framing'] },
  what: 'destination',
};
const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LABEL_CHARS = /^[A-Za-z0-9-]+$/;
/** Labels that getaddrinfo (inet_aton) would read as numbers: '127', '0x7f'. */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/i;
const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const PORT_DIGITS = /^(?:0|[1-9][0-9]{0,4})$/;
/** Bytes of a Unix socket path, at most: sockaddr_un's sun_path holds 108 with the final NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** Parses `SCHEME@HOST:PORT[?KEY=VALUE&...]`; throws RelayError('ERR_BAD_ADDRESS') naming the input and what was expected. */
export function parseEndpoint(input: string, opts: ParseOptions): Endpoint {
  const fail: Fail = failer(opts.what, input);
  const expectedSchemes = `${opts.schemes.slice(0, -1).join(', ')}${opts.schemes.length > 1 ? ' or ' : ''}${opts.schemes.at(-1)}`;
  const example = `${opts.schemes[0] ?? 'tcp'}@HOST:PORT`;

  const at = input.indexOf('@');
  if (at < 0) {
    fail(input === '' ? `empty, expected ${example}` : `missing "@", expected ${example}`);
  }
  const scheme = input.slice(0, at);
  if (!isScheme(scheme)) {
    const hint = isScheme(scheme.toLowerCase()) ? ' (schemes are lowercase)' : '';
    fail(`unknown scheme ${quote(scheme)}, expected ${expectedSchemes}${hint}`);
  }
  if (!opts.schemes.includes(scheme)) {
    fail(`${article(opts.what)} ${opts.what} cannot be ${scheme}, expected ${expectedSchemes}`);
  }

  const rest = input.slice(at + 1);
  const questionMark = rest.indexOf('?');
  const hostPortText = questionMark < 0 ? rest : rest.slice(0, questionMark);
  const query = questionMark < 0 ? undefined : rest.slice(questionMark + 1);

  const { host, port, kind } = scheme === 'unix' ? socketPath(hostPortText, fail) : splitHostPort(hostPortText, opts.allowPortZero, `${scheme}@`, fail);
  let params: QueryParams = {};
  if (query !== undefined) {
    const keys = opts.query[scheme] ?? [];
    if (keys.length === 0) fail(`a ${scheme} ${opts.what} takes no "?" options, expected ${scheme}@${scheme === 'unix' ? '/PATH' : 'HOST:PORT'}`);
    params = parseQuery(query, keys, `a ${scheme} ${opts.what}`, fail);
  }
  const endpoint: Endpoint = { scheme, host, port, kind, framing: params.framing, text: formatEndpoint(scheme, host, port, params) };
  if (params.split !== undefined) endpoint.split = params.split;
  if (params.proxy !== undefined) endpoint.proxy = params.proxy;
  if (params.fdname !== undefined) endpoint.fdname = params.fdname;
  return endpoint;
}

/** Parses `HOST:PORT` without a scheme (same host and port rules); throws RelayError('ERR_BAD_ADDRESS'). */
export function parseHostPort(input: string, what: string, allowPortZero = false): HostPort {
  const fail: Fail = failer(what, input);
  if (input === '') fail('empty, expected HOST:PORT');
  const { host, port, kind } = splitHostPort(input, allowPortZero, '', fail);
  return { host, port, kind, text: formatHostPort(host, port) };
}

/** Formats `HOST:PORT`, putting an IPv6 host in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The canonical text of an endpoint, which parseEndpoint reads back to the same value. */
export function formatEndpoint(scheme: Scheme, host: string, port: number, params: QueryParams): string {
  const query = QUERY_KEYS.flatMap((key) => (params[key] === undefined ? [] : [`${key}=${params[key]}`])).join('&');
  return `${scheme}@${scheme === 'unix' ? host : formatHostPort(host, port)}${query === '' ? '' : `?${query}`}`;
}

type Fail = (reason: string) => never;

function failer(what: string, input: string): Fail {
  return (reason) => {
    throw new RelayError('ERR_BAD_ADDRESS', `bad ${what} ${quote(input)}: ${reason}`);
  };
}

/** JSON quoting keeps the message on one line whatever the input holds (newlines, quotes). */
function quote(text: string): string {
  return JSON.stringify(text);
}

/** 'a' or 'an' before `word`. */
function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

function isScheme(text: string): text is Scheme {
  return (SCHEMES as readonly string[]).includes(text);
}

/** `prefix` is what the user typed before HOST ('tcp@' or ''), to build the bracketed suggestion. */
function splitHostPort(text: string, allowPortZero: boolean, prefix: string, fail: Fail): { host: string; port: number; kind: HostKind } {
  let hostText: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) fail(`missing "]" after the IPv6 address, expected ${prefix}[IPV6]:PORT`);
    hostText = text.slice(1, close);
    const afterBracket = text.slice(close + 1);
    if (!afterBracket.startsWith(':')) {
      fail(afterBracket === '' ? `missing port, expected ${prefix}[IPV6]:PORT` : `expected ":PORT" after "]", got ${quote(afterBracket)}`);
    }
    portText = afterBracket.slice(1);
    if (!isIPv6(hostText)) {
      fail(`${quote(hostText)} is not an IPv6 address`);
    }
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) fail(`missing port, expected ${prefix}HOST:PORT`);
    hostText = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (hostText.includes(':')) {
      const suggestion = isIPv6(hostText) ? `${prefix}[${hostText}]:${portText}` : `${prefix}[::1]:2009`;
      fail(`IPv6 addresses must be in brackets, e.g. ${suggestion}`);
    }
    if (hostText === '') fail(`missing host, expected ${prefix}HOST:PORT`);
    if (hostText.includes('[') || hostText.includes(']')) {
      fail(`misplaced bracket, expected ${prefix}[IPV6]:PORT`);
    }
  }
  const port = parsePort(portText, allowPortZero, fail);
  if (hostText.includes(':')) return { host: canonicalIPv6(hostText), port, kind: 'ipv6' };
  return { ...parseHostname(hostText, fail), port };
}

/** The path of a unix@ endpoint: absolute, as typed (a "?" starts the query, so a path holds none). */
function socketPath(text: string, fail: Fail): { host: string; port: number; kind: 'path' } {
  if (text === '') fail('empty path, expected unix@/ABSOLUTE/PATH');
  if (!text.startsWith('/')) fail(`${quote(text)} is a relative path, expected unix@/ABSOLUTE/PATH`);
  if (text.endsWith('/')) fail(`${quote(text)} ends with "/", expected the path of a socket file`);
  if (text.includes('\0')) fail(`${quote(text)} holds a NUL byte`);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_SOCKET_PATH_BYTES) fail(`the path is ${bytes} bytes, a Unix socket path holds at most ${MAX_SOCKET_PATH_BYTES}`);
  return { host: text, port: 0, kind: 'path' };
}

function parsePort(text: string, allowPortZero: boolean, fail: Fail): number {
  const range = allowPortZero ? '0-65535' : '1-65535';
  if (text === '') fail(`missing port, expected an integer ${range}`);
  const port = PORT_DIGITS.test(text) ? Number(text) : NaN;
  if (!(port <= 65535) || (port === 0 && !allowPortZero)) {
    fail(`port must be an integer ${range}, got ${quote(text)}`);
  }
  return port;
}

/** An IPv4 dotted quad, or else an RFC 1123 name; a numeric-looking name must be a valid quad. */
function parseHostname(text: string, fail: Fail): { host: string; kind: 'ipv4' | 'name' } {
  const labels = (text.endsWith('.') ? text.slice(0, -1) : text).split('.');
  const last = labels[labels.length - 1] ?? '';
  if (NUMERIC_LABEL.test(last) || labels.every((label) => NUMERIC_LABEL.test(label))) {
    const isQuad = labels.length === 4 && !text.endsWith('.') && labels.every(isOctet);
    if (!isQuad) fail(`${quote(text)} is not an IPv4 address, expected four numbers 0-255 like 192.0.2.1`);
    return { host: text, kind: 'ipv4' };
  }
  const reason = nameError(text, labels);
  if (reason !== undefined) fail(`${quote(text)} is not a valid host name: ${reason}`);
  return { host: text.toLowerCase(), kind: 'name' };
}

function isOctet(label: string): boolean {
  return IPV4_OCTET.test(label) && Number(label) <= 255;
}

/** Why `text` is not an RFC 1123 name, or undefined if it is one. */
function nameError(text: string, labels: readonly string[]): string | undefined {
  if (text.length > MAX_NAME_LENGTH) return `longer than ${MAX_NAME_LENGTH} characters`;
  for (const label of labels) {
    if (label === '') return 'empty label (two dots in a row, or a leading dot)';
    if (label.length > MAX_LABEL_LENGTH) return `label ${quote(label)} is longer than ${MAX_LABEL_LENGTH} characters`;
    if (!LABEL_CHARS.test(label)) return `label ${quote(label)} may hold only letters, digits and hyphens`;
    if (label.startsWith('-') || label.endsWith('-')) return `label ${quote(label)} starts or ends with a hyphen`;
  }
  return undefined;
}

/** Compressed lowercase form ('0:0::1' -> '::1'); a zone id is kept as typed (interface names are case-sensitive). */
function canonicalIPv6(text: string): string {
  const percent = text.indexOf('%');
  const address = percent < 0 ? text : text.slice(0, percent);
  const zone = percent < 0 ? '' : text.slice(percent);
  return new SocketAddress({ address, family: 'ipv6' }).address + zone;
}

/** `?KEY=VALUE` as a message shows what a key takes: `?framing=len32le|len32be|lf|octet`. */
function expectedParam(key: QueryKey): string {
  const values = QUERY_PARAMS[key].values;
  return `?${key}=${'shown' in values ? values.shown : values.join('|')}`;
}

/** Whether `value` is one that `key` takes. */
function isValueOf(key: QueryKey, value: string): boolean {
  const values = QUERY_PARAMS[key].values;
  return 'pattern' in values ? values.pattern.test(value) : (values as readonly string[]).includes(value);
}

/**
 * Reads `KEY=VALUE&...` where `keys` may appear (each at most once); `who` ('a tcp listener') is
 * for the message when a known key does not apply here.
 */
function parseQuery(query: string, keys: readonly QueryKey[], who: string, fail: Fail): QueryParams {
  const expected = `expected ${keys.map(expectedParam).join(keys.length > 2 ? ', ' : ' and/or ')}${keys.length > 1 ? ' (joined with &)' : ''}`;
  if (query === '') fail(`empty "?" query, ${expected}`);
  const params: Record<string, string> = {};
  for (const param of query.split('&')) {
    const eq = param.indexOf('=');
    const key = eq < 0 ? param : param.slice(0, eq);
    const value = eq < 0 ? '' : param.slice(eq + 1);
    if (!isQueryKey(key)) fail(`unknown option ${quote(key)}, ${expected}`);
    const keyExpected = `expected ${expectedParam(key)}`;
    if (!keys.includes(key)) fail(`${who} takes no ?${key}= (it applies to ${QUERY_PARAMS[key].appliesTo}), ${expected}`);
    if (params[key] !== undefined) fail(`${key} given twice, ${keyExpected}`);
    if (value === '') fail(`empty ${key}, ${keyExpected}`);
    if (!isValueOf(key, value)) {
      const values = QUERY_PARAMS[key].values;
      fail('rule' in values ? `bad ${key} ${quote(value)}: ${values.rule}, ${keyExpected}` : `unknown ${key} ${quote(value)}, ${keyExpected}`);
    }
    params[key] = value;
  }
  // Every value was checked against its key's table row.
  return params as QueryParams;
}

function isQueryKey(text: string): text is QueryKey {
  return Object.hasOwn(QUERY_PARAMS, text);
}
