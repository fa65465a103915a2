/**
 * The manual page's prose (src/cli/man-page.ts renders it): what no table of the code holds. Texts
 * use README Markdown's backticks for literal text. The lists keyed by a type (schemes, framings,
 * error codes) are checked by the compiler against it: a new scheme or error code does not compile
 * until the page says what it is. Keep the facts in step with README.md and docs/ARCHITECTURE.md.
 */
import type { Scheme } from '../config/address.js';
import type { RelayErrorCode } from '../errors.js';
import type { FramingName } from '../framing/index.js';

export const DESCRIPTION: readonly string[] = [
  `relay receives messages — datagrams on UDP listeners and on Unix datagram sockets, frames on TCP
   and TLS listeners — and forwards every message to every destination (TCP, TLS or RELP), in the
   order it received them, each whole and framed on the stream. It sits in front of log and metric
   aggregators (rsyslog, syslog-ng, Vector, Logstash, Graphite) and benchmarks that path.`,
  `Messages wait in one ring of fixed size (\`--buffer\`) that each destination reads at its own pace.
   A destination that is down is retried with exponential backoff and jitter and then receives, in
   order, what it missed that the ring still holds. One that lags more than 3/4 of the ring behind
   loses its oldest messages, counted — or, with \`--spill-dir\`, they go to disk and are replayed in
   order, also after a restart. A slow, stalled or dead destination never slows the others or ingest.`,
  `Every message that is not delivered is counted with a reason (\`--metrics\`, \`relay top\`). A
   \`tcp@\` or \`tls@\` destination counts a message sent once the kernel took it: bytes the kernel held
   when a connection broke can be lost, and TCP cannot tell which. A \`relp@\` destination counts a
   message sent once the receiver acknowledged it.`,
  `The options can also come from a TOML file (\`--config\`) whose keys are the long option names
   (\`buffer = "64MiB"\`); \`listen\` lists the listeners, and \`[[destination]]\`, \`[[group]]\` and
   \`[[route]]\` tables give destinations, groups and routing rules. Options given on the command line
   override the file's, and addresses given on the command line are destinations added to the file's.
   Relative paths in the file are relative to its directory. Groups spread messages over their members
   (failover, any-of, least-loaded and carbon-c-relay's consistent hashes); routing rules choose
   destinations by content; \`--carbon-config\` runs a carbon-c-relay 3.7 configuration file.
   README.md, shipped with relay, describes each in full.`,
];

export const ADDRESS_INTRO = `Listeners and destinations are written \`SCHEME@HOST:PORT\`, optionally
  followed by \`?KEY=VALUE\` parameters joined with \`&\` (quote such an address in a shell); a Unix socket
  listener is \`unix@/ABSOLUTE/PATH\`. HOST is an IPv4 address, an IPv6 address in brackets (\`[::1]\`,
  \`[::]\`) or a name; destinations' names are resolved again on every connection attempt. Port 0 makes a
  listener bind a free port, which the log names. A bad address prints one line saying what was expected
  and exits 2 before anything binds.`;

/** What each scheme is; which roles and `?` parameters it takes is generated from src/config/address.ts. */
export const SCHEME_TEXT: Readonly<Record<Scheme, string>> = {
  udp: `UDP datagrams, one message each. Received through the native \`recvmmsg\` addon when it is built,
    else \`node:dgram\` (\`--ingest\`). \`?split=lf\` makes each line of a datagram one message (an LF ends
    a line and is not part of it; empty lines make no message); \`?framing=\` is accepted and means nothing.`,
  tcp: `As a listener, framed messages on TCP connections (\`?framing=\`, else \`--framing\`), with
    \`?proxy=v1\` or \`?proxy=v2\` a PROXY protocol header first on each connection. As a destination, one
    connection on which every message is framed (\`?framing=\`, else \`--framing\`).`,
  tls: `TCP with TLS. A listener presents \`--listen-tls-cert\` and \`--listen-tls-key\` (and with
    \`--listen-tls-ca\` requires client certificates); a destination verifies the server against Node's CA
    store and \`--tls-ca\`, and presents \`--tls-cert\` and \`--tls-key\` when given.`,
  relp: `RELP, as rsyslog's imrelp speaks it: a message counts as sent once the receiver answered 200 for
    it, and what was not answered is sent again on the next connection (at least once; \`--relp-window\`
    commands unanswered at most). RELP frames each message itself.`,
  unix: `A Unix datagram socket at an absolute path, the local syslog socket (\`unix@/dev/log\`). Received
    through the native addon only: without it such a listener is refused (exit 2). The socket file gets
    \`--unix-mode\` and \`--unix-owner\`; a stale one is replaced, and it is removed when the listener closes.
    \`?split=lf\` as on \`udp@\`. \`--allow\`, \`--deny\` and \`--rate-limit\` do not apply.`,
};

/** The bytes each framing puts on a stream. */
export const FRAMING_TEXT: Readonly<Record<FramingName, string>> = {
  len32le: 'a u32 little-endian length, then the payload (the default; what relay-lockless reads)',
  len32be: "a u32 big-endian length, then the payload (Vector's `length_delimited`)",
  lf: 'the payload, then a newline (none added if it ends with one): Graphite plaintext and line inputs. A payload containing a newline is forwarded as is, and counted',
  octet:
    '`LEN SP payload`, RFC 6587 octet counting, as rsyslog and syslog-ng read it. An empty message cannot be framed so: it is skipped for that destination, and counted',
};

export const VALUES_TEXT = `Sizes take \`B\`, \`KiB\` or \`K\`, \`MiB\` or \`M\`, \`GiB\` or \`G\` (powers of 1024) or
  \`KB\`, \`MB\`, \`GB\` (powers of 1000); a bare number is bytes. Durations take \`ms\`, \`s\`, \`m\`, \`h\`; a bare
  number is milliseconds.`;

export const OPTIONS_INTRO = `An option with a scope is also a key of the \`--config\` file (\`buffer = "64MiB"\`),
  unless it says otherwise. A global option applies once for the relay, a per-destination one to each destination
  on its own. On SIGHUP a changed value is applied at once, or waits for a restart (the reload logs it as
  ignored until restart).`;

/** SIGHUP's text; the page appends the list of restart-only options from the settings table. */
export const SIGHUP_TEXT = `Reload. The \`--config\` (or \`--carbon-config\`) file, the command line over it and
  every TLS file are read and checked again. If anything is wrong, or an added listener cannot bind, one
  log line says why, nothing changes and the relay runs on (counted in
  \`relay_config_reloads_total{result="failed"}\`). Otherwise listeners that did not change stay bound,
  added ones bind and removed ones close; a destination that stays keeps its connection, its place in
  the ring and its spill (a change of its TLS settings reconnects it); an added one starts with what
  arrives from then on; a removed one gets up to \`--drain-timeout\` to deliver what it holds, then what is
  left is spilled or counted. Reloads run one at a time, in the order of the signals.`;

export const STOP_TEXT = `Graceful stop. The relay reads what the kernel already queued on its UDP sockets
  (until they are quiet for 20 ms, at most 1 s), stops receiving, delivers what the ring holds to every
  connected destination for up to \`--drain-timeout\`, spills what is left when \`--spill-dir\` is set, logs
  per destination what could not be delivered, and exits 0. A second SIGINT or SIGTERM exits at once,
  without draining, with status 1. A signal that arrives while the relay starts is acted on once it
  runs. \`relay sink\` stops on either signal: it takes nothing more, prints its totals with \`--count\`,
  and exits 0 once its output is written.`;

/** The meaning of each exit status; `EXIT_CODES` (src/errors.ts) says which errors end with 1 and 2. */
export const EXIT_STATUS_TEXT: Readonly<Record<number, string>> = {
  0: `Success: the relay stopped gracefully on SIGINT or SIGTERM (messages left undelivered are logged and
    counted, not an error); \`--check-config\` found the configuration good; \`--help\`, \`--version\` and the
    subcommands finished.`,
  1: `A failure at run time: a second SIGINT or SIGTERM during the drain, an internal error (\`relay: internal
    error: …\`), or one of these.`,
  2: `A usage error, found before anything binds: an unknown option, a missing or bad argument, or one of
    these.`,
};

/**
 * What each RelayError means to the user who sees its exit status; null for the codes that never
 * end the process (bytes a peer sent that are not a valid frame: the connection is closed and counted).
 */
export const ERROR_TEXT: Readonly<Record<RelayErrorCode, string | null>> = {
  ERR_BAD_ADDRESS: 'a listener or destination address that does not parse',
  ERR_BAD_OPTION: 'an option value that is malformed, out of range, or impossible here (`--ingest native`, or a `unix@` listener, without the native addon)',
  ERR_CONFIG: 'a configuration file that cannot be read, does not parse, or holds a key relay does not know',
  ERR_TLS_FILE: 'a TLS certificate, key or CA file that cannot be read or does not parse',
  ERR_CLUSTER: 'a consistent-hash group that cannot be built (its members, instances or replication)',
  ERR_BIND: 'a listener that cannot bind (its address in use, or not allowed)',
  ERR_RESOLVE: "a listener's host name (or `relay sink`'s, `relay send`'s) that does not resolve",
  ERR_METRICS_BIND: 'the `--metrics` endpoint that cannot bind',
  ERR_SPILL: 'a `--spill-dir` that cannot be written, or that another running relay holds',
  ERR_TOP_FETCH: "`relay top` that cannot read the relay's `/stats`",
  ERR_INTERNAL: 'a relay thread that exited or broke the protocol between threads',
  ERR_FRAMING: null,
  ERR_RELP: null,
};

/** The files relay reads and writes: a term as commander writes one (`<placeholder>`), and its text. */
export const FILES: readonly { term: string; text: string }[] = [
  {
    term: '<config-file>',
    text: `The TOML configuration file given to \`--config\`: keys are the long option names, \`listen\` lists every
      listener, \`[[destination]]\` tables (\`address\`, and \`framing\`, \`tls-ca\`, \`tls-cert\`, \`tls-key\`,
      \`servername\`), \`[[group]]\` and \`[[route]]\` tables. Read at start and on every SIGHUP; an unknown key is an
      error. README.md shows one.`,
  },
  {
    term: '<dir>/<name>/',
    text: `A destination's spill directory in \`--spill-dir\`: append-only, checksummed segment files and the replay
      position, named after the destination (\`HOST_PORT\`, \`tls_HOST_PORT\` or \`relp_HOST_PORT\`, then
      \`_FRAMING\` when the framing is not len32le; other characters become \`_\`). A restarted relay replays what
      it holds first.`,
  },
  {
    term: '<dir>/.relay.lock',
    text: `Held by the relay that uses \`--spill-dir\` while it runs: a second relay started on the directory exits
      1 naming the pid that holds it. A lock left by a relay that crashed is taken over.`,
  },
  {
    term: '<socket-path>',
    text: `The socket file of a \`unix@\` listener: made at start with \`--unix-mode\` and \`--unix-owner\` (a stale one
      is replaced; a path another process is bound to, or that is not a socket, is refused), removed when the
      listener closes.`,
  },
];

export const ENVIRONMENT: readonly { name: string; text: string }[] = [
  {
    name: 'RELAY_NATIVE_UDP',
    text: `\`0\`: do not load the native addon. UDP is received with \`node:dgram\`, the background thread runs as a
      worker, and \`unix@\` listeners are refused.`,
  },
  {
    name: 'RELAY_SKIP_NATIVE_BUILD',
    text: '`1`, during `npm install`: do not build the native addon.',
  },
  {
    name: 'COLUMNS',
    text: "The width of `relay top`'s screen when its output is not a terminal (default 120).",
  },
];

/** The walkthrough of README.md: three terminals. */
export const WALKTHROUGH = {
  text: `A destination that prints each message it receives, the relay, and a sender, in three terminals; the
    first prints \`hello\` and \`world\`. Ctrl-C stops the relay: it delivers what it holds, and exits 0.`,
  lines: [
    'relay sink tcp@127.0.0.1:2009 --framing lf',
    "relay udp@127.0.0.1:2008 'tcp@127.0.0.1:2009?framing=lf'",
    "printf 'hello\\nworld\\n' | relay send udp@127.0.0.1:2008",
  ],
};

/** Watching and reloading a relay that runs from a file. */
export const RUNNING_EXAMPLE = {
  text: 'Run from a file, watch it, and reload it after an edit:',
  lines: [
    'relay --config /etc/relay/relay.toml --metrics 127.0.0.1:9109 &',
    'relay top --metrics 127.0.0.1:9109',
    'kill -HUP %1',
    'curl -s 127.0.0.1:9109/metrics | grep relay_dropped',
  ],
};

export const SEE_ALSO = '`logger`(1), `rsyslogd`(8), `carbon-c-relay`(1); README.md in the package.';
