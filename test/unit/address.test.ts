import test from 'node:test';
import assert from 'node:assert/strict';
import { LISTENER_ADDRESS, formatHostPort, parseEndpoint, parseHostPort, type Endpoint, type HostKind, type ParseOptions } from '../../src/config/address.js';
import { RelayError } from '../../src/errors.js';
import { FRAMING_NAMES } from '../../src/framing/index.js';

const LISTENER: ParseOptions = LISTENER_ADDRESS;
const UDP_LISTENER: ParseOptions = { schemes: ['udp'], allowPortZero: true, query: {}, what: 'listener' };
const DESTINATION: ParseOptions = { schemes: ['tcp'], allowPortZero: false, query: { tcp: ['framing'] }, what: 'destination' };

/** input, options, then the expected endpoint (text defaults to the input). */
type ValidCase = [input: string, opts: ParseOptions, expected: Omit<Endpoint, 'text'> & { text?: string }];

function tcp(host: string, port: number, kind: HostKind, framing?: Endpoint['framing']): Omit<Endpoint, 'text'> {
  return { scheme: 'tcp', host, port, kind, framing };
}
function udp(host: string, port: number, kind: HostKind, split?: Endpoint['split']): Omit<Endpoint, 'text'> {
  return split === undefined ? { scheme: 'udp', host, port, kind, framing: undefined } : { scheme: 'udp', host, port, kind, framing: undefined, split };
}
function unix(path: string, split?: Endpoint['split']): Omit<Endpoint, 'text'> {
  const endpoint: Omit<Endpoint, 'text'> = { scheme: 'unix', host: path, port: 0, kind: 'path', framing: undefined };
  return split === undefined ? endpoint : { ...endpoint, split };
}

const VALID: ValidCase[] = [
  // IPv4
  ['udp@0.0.0.0:2008', LISTENER, udp('0.0.0.0', 2008, 'ipv4')],
  ['udp@127.0.0.1:2008', UDP_LISTENER, udp('127.0.0.1', 2008, 'ipv4')],
  ['tcp@255.255.255.255:65535', DESTINATION, tcp('255.255.255.255', 65535, 'ipv4')],
  ['tcp@10.0.0.1:1', DESTINATION, tcp('10.0.0.1', 1, 'ipv4')],
  ['tcp@192.0.2.100:2009', DESTINATION, tcp('192.0.2.100', 2009, 'ipv4')],
  // IPv6, canonicalised
  ['tcp@[::1]:2009', DESTINATION, tcp('::1', 2009, 'ipv6')],
  ['udp@[::]:2008', LISTENER, udp('::', 2008, 'ipv6')],
  ['tcp@[2001:db8::1]:2009', DESTINATION, tcp('2001:db8::1', 2009, 'ipv6')],
  ['tcp@[2001:DB8::1]:2009', DESTINATION, { ...tcp('2001:db8::1', 2009, 'ipv6'), text: 'tcp@[2001:db8::1]:2009' }],
  ['tcp@[0:0:0:0:0:0:0:1]:2009', DESTINATION, { ...tcp('::1', 2009, 'ipv6'), text: 'tcp@[::1]:2009' }],
  ['tcp@[::ffff:192.0.2.1]:2009', DESTINATION, tcp('::ffff:192.0.2.1', 2009, 'ipv6')],
  ['tcp@[fe80::1%eth0]:2009', DESTINATION, tcp('fe80::1%eth0', 2009, 'ipv6')],
  ['tcp@[FE80::1%Eth0]:2009', DESTINATION, { ...tcp('fe80::1%Eth0', 2009, 'ipv6'), text: 'tcp@[fe80::1%Eth0]:2009' }],
  // names
  ['tcp@localhost:2009', DESTINATION, tcp('localhost', 2009, 'name')],
  ['tcp@logs-a.example:2009', DESTINATION, tcp('logs-a.example', 2009, 'name')],
  ['tcp@logs-a.example.:2009', DESTINATION, tcp('logs-a.example.', 2009, 'name')],
  ['tcp@Logs-A.Example:2009', DESTINATION, { ...tcp('logs-a.example', 2009, 'name'), text: 'tcp@logs-a.example:2009' }],
  ['tcp@1.2.3.example:2009', DESTINATION, tcp('1.2.3.example', 2009, 'name')],
  ['tcp@3com.net:2009', DESTINATION, tcp('3com.net', 2009, 'name')],
  ['tcp@a:2009', DESTINATION, tcp('a', 2009, 'name')],
  [`tcp@${'a'.repeat(63)}.example:2009`, DESTINATION, tcp(`${'a'.repeat(63)}.example`, 2009, 'name')],
  // 4 labels of 63 + 3 dots = 255 > 253, so 3 of 63 and one of 61: exactly 253.
  [
    `tcp@${['a', 'b', 'c'].map((c) => c.repeat(63)).join('.')}.${'d'.repeat(61)}:1`,
    DESTINATION,
    tcp(`${['a', 'b', 'c'].map((c) => c.repeat(63)).join('.')}.${'d'.repeat(61)}`, 1, 'name'),
  ],
  // port 0 where allowed
  ['udp@0.0.0.0:0', LISTENER, udp('0.0.0.0', 0, 'ipv4')],
  ['tcp@[::1]:0', LISTENER, tcp('::1', 0, 'ipv6')],
  // framing on a tcp listener and on destinations, every name
  ['tcp@0.0.0.0:2010?framing=lf', LISTENER, tcp('0.0.0.0', 2010, 'ipv4', 'lf')],
  ...FRAMING_NAMES.map((f): ValidCase => [`tcp@host:2009?framing=${f}`, DESTINATION, tcp('host', 2009, 'name', f)]),
  ...FRAMING_NAMES.map((f): ValidCase => [`tcp@[::1]:2009?framing=${f}`, DESTINATION, tcp('::1', 2009, 'ipv6', f)]),
  // split on a udp listener; ?framing= there is accepted as it always was; canonical order framing, split
  ['udp@127.0.0.1:2008?split=lf', LISTENER, udp('127.0.0.1', 2008, 'ipv4', 'lf')],
  ['udp@[::1]:0?split=lf', LISTENER, udp('::1', 0, 'ipv6', 'lf')],
  ['udp@[0:0::1]:2008?split=lf', LISTENER, { ...udp('::1', 2008, 'ipv6', 'lf'), text: 'udp@[::1]:2008?split=lf' }],
  ['udp@0.0.0.0:2008?framing=lf', LISTENER, { ...udp('0.0.0.0', 2008, 'ipv4'), framing: 'lf' }],
  ['udp@0.0.0.0:2008?split=lf&framing=lf', LISTENER, { ...udp('0.0.0.0', 2008, 'ipv4', 'lf'), framing: 'lf', text: 'udp@0.0.0.0:2008?framing=lf&split=lf' }],
  // unix@: an absolute path as typed (its host), port 0; ?split=lf as on udp@
  ['unix@/dev/log', LISTENER, unix('/dev/log')],
  ['unix@/run/relay/log.sock?split=lf', LISTENER, unix('/run/relay/log.sock', 'lf')],
  ['unix@/a b/ünï:còde@x', LISTENER, unix('/a b/ünï:còde@x')],
  [`unix@/${'a'.repeat(106)}`, LISTENER, unix(`/${'a'.repeat(106)}`)],
];

for (const [input, opts, expected] of VALID) {
  test(`parseEndpoint accepts ${JSON.stringify(input)} as a ${opts.what}`, () => {
    const endpoint = parseEndpoint(input, opts);
    assert.deepEqual(endpoint, { ...expected, text: expected.text ?? input });
    // The canonical text reads back to the same endpoint.
    assert.deepEqual(parseEndpoint(endpoint.text, opts), endpoint);
  });
}

/** input, options, a fragment the message must contain after `bad <what> "<input>": `. */
type ErrorCase = [input: string, opts: ParseOptions, fragment: string];

const IPV4_EXPECTED = 'is not an IPv4 address, expected four numbers 0-255 like 192.0.2.1';
const LABEL_CHARS = 'may hold only letters, digits and hyphens';

const ERRORS: ErrorCase[] = [
  // shape and scheme
  ['', DESTINATION, 'empty, expected tcp@HOST:PORT'],
  ['host:2009', DESTINATION, 'missing "@", expected tcp@HOST:PORT'],
  ['127.0.0.1:2008', LISTENER, 'missing "@", expected udp@HOST:PORT'],
  ['ftp@x:1', LISTENER, 'unknown scheme "ftp", expected udp, tcp, tls or unix'],
  ['http@host:80', DESTINATION, 'unknown scheme "http", expected tcp'],
  ['udp4@0.0.0.0:2008', LISTENER, 'unknown scheme "udp4", expected udp, tcp, tls or unix'],
  ['TCP@host:2009', DESTINATION, 'unknown scheme "TCP", expected tcp (schemes are lowercase)'],
  ['@host:2009', DESTINATION, 'unknown scheme "", expected tcp'],
  ['udp@host:2009', DESTINATION, 'a destination cannot be udp, expected tcp'],
  ['tcp@0.0.0.0:2008', UDP_LISTENER, 'a listener cannot be tcp, expected udp'],
  // port
  ['tcp@host:99999', DESTINATION, 'port must be an integer 1-65535, got "99999"'],
  ['tcp@host:65536', DESTINATION, 'port must be an integer 1-65535, got "65536"'],
  ['tcp@host:0', DESTINATION, 'port must be an integer 1-65535, got "0"'],
  ['udp@0.0.0.0:65536', LISTENER, 'port must be an integer 0-65535, got "65536"'],
  ['tcp@host:-1', DESTINATION, 'port must be an integer 1-65535, got "-1"'],
  ['tcp@host:+1', DESTINATION, 'port must be an integer 1-65535, got "+1"'],
  ['tcp@host:02009', DESTINATION, 'port must be an integer 1-65535, got "02009"'],
  ['tcp@host:20.5', DESTINATION, 'port must be an integer 1-65535, got "20.5"'],
  ['tcp@host:0x10', DESTINATION, 'port must be an integer 1-65535, got "0x10"'],
  ['tcp@host:1e3', DESTINATION, 'port must be an integer 1-65535, got "1e3"'],
  ['tcp@host: 2009', DESTINATION, 'port must be an integer 1-65535, got " 2009"'],
  ['tcp@host:http', DESTINATION, 'port must be an integer 1-65535, got "http"'],
  ['tcp@host:', DESTINATION, 'missing port, expected an integer 1-65535'],
  ['tcp@host', DESTINATION, 'missing port, expected tcp@HOST:PORT'],
  ['tcp@:2009', DESTINATION, 'missing host, expected tcp@HOST:PORT'],
  // IPv4
  ['tcp@1.2.3:2009', DESTINATION, `"1.2.3" ${IPV4_EXPECTED}`],
  ['tcp@1.2.3.4.5:2009', DESTINATION, `"1.2.3.4.5" ${IPV4_EXPECTED}`],
  ['tcp@256.0.0.1:2009', DESTINATION, `"256.0.0.1" ${IPV4_EXPECTED}`],
  ['tcp@1.2.3.999:2009', DESTINATION, `"1.2.3.999" ${IPV4_EXPECTED}`],
  ['tcp@01.2.3.4:2009', DESTINATION, `"01.2.3.4" ${IPV4_EXPECTED}`],
  ['tcp@1.2.3.4.:2009', DESTINATION, `"1.2.3.4." ${IPV4_EXPECTED}`],
  ['tcp@1..3.4:2009', DESTINATION, `"1..3.4" ${IPV4_EXPECTED}`],
  ['tcp@127.1:2009', DESTINATION, `"127.1" ${IPV4_EXPECTED}`],
  ['tcp@2130706433:2009', DESTINATION, `"2130706433" ${IPV4_EXPECTED}`],
  ['tcp@0x7f.0.0.1:2009', DESTINATION, `"0x7f.0.0.1" ${IPV4_EXPECTED}`],
  ['tcp@host.123:2009', DESTINATION, `"host.123" ${IPV4_EXPECTED}`],
  // IPv6
  ['tcp@::1:2009', DESTINATION, 'IPv6 addresses must be in brackets, e.g. tcp@[::1]:2009'],
  ['tcp@2001:db8::1:2009', DESTINATION, 'IPv6 addresses must be in brackets, e.g. tcp@[2001:db8::1]:2009'],
  ['tcp@fe80:::1:2009', DESTINATION, 'IPv6 addresses must be in brackets, e.g. tcp@[::1]:2009'],
  ['tcp@[::1:2009', DESTINATION, 'missing "]" after the IPv6 address, expected tcp@[IPV6]:PORT'],
  ['tcp@[::1]', DESTINATION, 'missing port, expected tcp@[IPV6]:PORT'],
  ['tcp@[::1]2009', DESTINATION, 'expected ":PORT" after "]", got "2009"'],
  ['tcp@[::1]:', DESTINATION, 'missing port, expected an integer 1-65535'],
  ['tcp@[::1]:70000', DESTINATION, 'port must be an integer 1-65535, got "70000"'],
  ['tcp@[]:2009', DESTINATION, '"" is not an IPv6 address'],
  ['tcp@[127.0.0.1]:2009', DESTINATION, '"127.0.0.1" is not an IPv6 address'],
  ['tcp@[host]:2009', DESTINATION, '"host" is not an IPv6 address'],
  ['tcp@[::g]:2009', DESTINATION, '"::g" is not an IPv6 address'],
  ['tcp@[fe80::1%]:2009', DESTINATION, '"fe80::1%" is not an IPv6 address'],
  ['tcp@host]:2009', DESTINATION, 'misplaced bracket, expected tcp@[IPV6]:PORT'],
  // names
  ['tcp@-host:2009', DESTINATION, '"-host" is not a valid host name: label "-host" starts or ends with a hyphen'],
  ['tcp@host-.example:2009', DESTINATION, 'label "host-" starts or ends with a hyphen'],
  ['tcp@ho_st:2009', DESTINATION, `label "ho_st" ${LABEL_CHARS}`],
  ['tcp@ho st:2009', DESTINATION, `label "ho st" ${LABEL_CHARS}`],
  ['tcp@user@host:2009', DESTINATION, `label "user@host" ${LABEL_CHARS}`],
  ['tcp@hôst:2009', DESTINATION, `label "hôst" ${LABEL_CHARS}`],
  ['tcp@a..b:2009', DESTINATION, 'empty label (two dots in a row, or a leading dot)'],
  ['tcp@.host:2009', DESTINATION, 'empty label (two dots in a row, or a leading dot)'],
  ['tcp@.:2009', DESTINATION, 'empty label (two dots in a row, or a leading dot)'],
  [`tcp@${'a'.repeat(64)}.example:2009`, DESTINATION, `label "${'a'.repeat(64)}" is longer than 63 characters`],
  [`tcp@${Array(4).fill('a'.repeat(63)).join('.')}:1`, DESTINATION, 'is not a valid host name: longer than 253 characters'],
  // query
  ['udp@0.0.0.0:2008?framing=lf', UDP_LISTENER, 'a udp listener takes no "?" options, expected udp@HOST:PORT'],
  ['tcp@host:2009?', DESTINATION, 'empty "?" query, expected ?framing=len32le|len32be|lf|octet'],
  ['tcp@host:2009?framing=', DESTINATION, 'empty framing, expected ?framing=len32le|len32be|lf|octet'],
  ['tcp@host:2009?framing', DESTINATION, 'empty framing, expected ?framing='],
  ['tcp@host:2009?framing=xml', DESTINATION, 'unknown framing "xml", expected ?framing=len32le|len32be|lf|octet'],
  ['tcp@host:2009?framing=LF', DESTINATION, 'unknown framing "LF"'],
  ['tcp@host:2009?framing=lf&framing=lf', DESTINATION, 'framing given twice'],
  ['tcp@host:2009?framing=lf&framing=octet', DESTINATION, 'framing given twice'],
  ['tcp@host:2009?framing=lf&', DESTINATION, 'unknown option ""'],
  ['tcp@host:2009?timeout=5', DESTINATION, 'unknown option "timeout", expected ?framing='],
  ['tcp@host:2009?Framing=lf', DESTINATION, 'unknown option "Framing"'],
  ['tcp@host:2009?framing=lf?x', DESTINATION, 'unknown framing "lf?x"'],
  // split: udp listeners only, one value, once
  ['tcp@0.0.0.0:2010?split=lf', LISTENER, 'a tcp listener takes no ?split= (it applies to udp and unix listeners), expected ?framing=len32le|len32be|lf|octet'],
  ['tcp@host:2009?split=lf', DESTINATION, 'a tcp destination takes no ?split= (it applies to udp and unix listeners), expected ?framing='],
  ['tcp@host:2009?framing=lf&split=lf', DESTINATION, 'a tcp destination takes no ?split='],
  ['udp@0.0.0.0:2008?split=crlf', LISTENER, 'unknown split "crlf", expected ?split=lf'],
  ['udp@0.0.0.0:2008?split=LF', LISTENER, 'unknown split "LF", expected ?split=lf'],
  ['udp@0.0.0.0:2008?split=', LISTENER, 'empty split, expected ?split=lf'],
  ['udp@0.0.0.0:2008?split', LISTENER, 'empty split, expected ?split=lf'],
  ['udp@0.0.0.0:2008?split=lf&split=lf', LISTENER, 'split given twice, expected ?split=lf'],
  ['udp@0.0.0.0:2008?', LISTENER, 'empty "?" query, expected ?framing=len32le|len32be|lf|octet, ?split=lf, ?fdname=NAME (joined with &)'],
  ['udp@0.0.0.0:2008?spilt=lf', LISTENER, 'unknown option "spilt", expected ?framing=len32le|len32be|lf|octet, ?split=lf, ?fdname=NAME'],
  ['udp@0.0.0.0:2008?split=lf', UDP_LISTENER, 'a udp listener takes no "?" options, expected udp@HOST:PORT'],
  // unix@: listeners only, an absolute path of at most 107 bytes, ?split= only
  ['unix@', LISTENER, 'empty path, expected unix@/ABSOLUTE/PATH'],
  ['unix@dev/log', LISTENER, '"dev/log" is a relative path, expected unix@/ABSOLUTE/PATH'],
  ['unix@./log', LISTENER, '"./log" is a relative path, expected unix@/ABSOLUTE/PATH'],
  ['unix@~/log', LISTENER, '"~/log" is a relative path'],
  ['unix@/run/relay/', LISTENER, '"/run/relay/" ends with "/", expected the path of a socket file'],
  ['unix@/', LISTENER, '"/" ends with "/"'],
  ['unix@/run/\0log', LISTENER, '"/run/\\u0000log" holds a NUL byte'],
  [`unix@/${'a'.repeat(107)}`, LISTENER, 'the path is 108 bytes, a Unix socket path holds at most 107'],
  [`unix@/${'é'.repeat(54)}`, LISTENER, 'the path is 109 bytes, a Unix socket path holds at most 107'],
  ['unix@/dev/log', DESTINATION, 'a destination cannot be unix, expected tcp'],
  ['unix@/dev/log', { ...DESTINATION, schemes: ['tcp', 'tls', 'relp'] }, 'a destination cannot be unix, expected tcp, tls or relp'],
  ['unix@/dev/log', UDP_LISTENER, 'a listener cannot be unix, expected udp'],
  ['UNIX@/dev/log', LISTENER, 'unknown scheme "UNIX", expected udp, tcp, tls or unix (schemes are lowercase)'],
  ['unix@/dev/log?framing=lf', LISTENER, 'a unix listener takes no ?framing= (it applies to destinations and tcp listeners), expected ?split=lf'],
  ['unix@/dev/log?split=crlf', LISTENER, 'unknown split "crlf", expected ?split=lf'],
  ['unix@/dev/log?', LISTENER, 'empty "?" query, expected ?split=lf'],
  ['unix@/dev/log?mode=0666', LISTENER, 'unknown option "mode", expected ?split=lf'],
  ['unix@/dev/log?split=lf', { ...LISTENER, query: {} }, 'a unix listener takes no "?" options, expected unix@/PATH'],
  // one line whatever the input holds
  ['tcp@host:2009\n', DESTINATION, 'port must be an integer 1-65535, got "2009\\n"'],
  ['tcp@ho"st:1', DESTINATION, 'label "ho\\"st"'],
];

for (const [input, opts, fragment] of ERRORS) {
  test(`parseEndpoint rejects ${JSON.stringify(input)} as a ${opts.what}`, () => {
    assertBadAddress(() => parseEndpoint(input, opts), `bad ${opts.what} ${JSON.stringify(input)}: `, fragment);
  });
}

function assertBadAddress(fn: () => unknown, prefix: string, fragment: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RelayError, `expected a RelayError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_BAD_ADDRESS');
    assert.equal(error.exitCode, 2);
    assert.ok(error.message.startsWith(prefix), `message ${JSON.stringify(error.message)} should start with ${JSON.stringify(prefix)}`);
    assert.ok(error.message.includes(fragment), `message ${JSON.stringify(error.message)} should contain ${JSON.stringify(fragment)}`);
    assert.ok(!/[\r\n]/.test(error.message), 'message must be one line');
    return true;
  });
}

const HOST_PORT_VALID: [input: string, allowPortZero: boolean, expected: { host: string; port: number; kind: HostKind; text: string }][] = [
  ['127.0.0.1:9100', false, { host: '127.0.0.1', port: 9100, kind: 'ipv4', text: '127.0.0.1:9100' }],
  ['[::1]:9100', false, { host: '::1', port: 9100, kind: 'ipv6', text: '[::1]:9100' }],
  ['[0::0]:0', true, { host: '::', port: 0, kind: 'ipv6', text: '[::]:0' }],
  ['localhost:9100', false, { host: 'localhost', port: 9100, kind: 'name', text: 'localhost:9100' }],
  ['0.0.0.0:0', true, { host: '0.0.0.0', port: 0, kind: 'ipv4', text: '0.0.0.0:0' }],
];

for (const [input, allowPortZero, expected] of HOST_PORT_VALID) {
  test(`parseHostPort accepts ${JSON.stringify(input)}`, () => {
    const parsed = parseHostPort(input, '--metrics', allowPortZero);
    assert.deepEqual(parsed, expected);
    assert.deepEqual(parseHostPort(parsed.text, '--metrics', allowPortZero), parsed);
  });
}

const HOST_PORT_ERRORS: [input: string, fragment: string][] = [
  ['', 'empty, expected HOST:PORT'],
  ['9100', 'missing port, expected HOST:PORT'],
  [':9100', 'missing host, expected HOST:PORT'],
  ['localhost:0', 'port must be an integer 1-65535, got "0"'],
  ['::1:9100', 'IPv6 addresses must be in brackets, e.g. [::1]:9100'],
  ['1.2.3:9100', `"1.2.3" ${IPV4_EXPECTED}`],
  ['tcp@localhost:9100', `label "tcp@localhost" ${LABEL_CHARS}`],
  ['[::1]', 'missing port, expected [IPV6]:PORT'],
];

for (const [input, fragment] of HOST_PORT_ERRORS) {
  test(`parseHostPort rejects ${JSON.stringify(input)}`, () => {
    assertBadAddress(() => parseHostPort(input, '--metrics address'), `bad --metrics address ${JSON.stringify(input)}: `, fragment);
  });
}

const FORMAT_HOST_PORT: [host: string, port: number, expected: string][] = [
  ['127.0.0.1', 2009, '127.0.0.1:2009'],
  ['::1', 2009, '[::1]:2009'],
  ['fe80::1%eth0', 1, '[fe80::1%eth0]:1'],
  ['logs-a.example', 0, 'logs-a.example:0'],
];

for (const [host, port, expected] of FORMAT_HOST_PORT) {
  test(`formatHostPort(${JSON.stringify(host)}, ${port}) is ${expected}`, () => {
    assert.equal(formatHostPort(host, port), expected);
  });
}
