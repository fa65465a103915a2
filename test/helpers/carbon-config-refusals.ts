/**
 * The hand-written carbon-c-relay configurations parseCarbonConfig refuses, each with its error,
 * exactly (see carbon-config-cases.ts): syntax, semantics, and the constructs it does not support.
 */
import type { ConfigCase } from './carbon-config-cases.js';

const C = 'cluster c forward 127.0.0.1:2003;\n';

export const REFUSED: ConfigCase[] = [
  // ---- refused: syntax ----
  { what: 'no ; at the end', text: `${C}match * send to c`, error: "c.conf:2: expected ';' to end the match statement of line 2, found end of file" },
  { what: 'a ; alone', text: ';\n', error: "c.conf:1: expected a statement (cluster, match, rewrite, statistics, listen, include), found ';'" },
  {
    what: 'a comment on the last line without newline',
    text: `${C}# end`,
    error:
      "c.conf:2: expected a statement (cluster, match, rewrite, statistics, listen, include), found unexpected '#' (a comment on the last line needs a newline)",
  },
  {
    what: 'an unknown statement',
    text: 'route foo;\n',
    error: "c.conf:1: expected a statement (cluster, match, rewrite, statistics, listen, include), found unexpected 'r'",
  },
  {
    what: 'a cluster without type',
    text: 'cluster c 127.0.0.1;\n',
    error: "c.conf:1: expected a cluster type after cluster 'c' (forward, any_of, failover, carbon_ch, fnv1a_ch, jump_fnv1a_ch), found unexpected '1'",
  },
  { what: 'a cluster without members', text: 'cluster c forward;\n', error: "c.conf:1: expected a member host[:port][=instance] of cluster 'c', found ';'" },
  {
    what: 'a keyword as cluster name',
    text: 'cluster stop forward 127.0.0.1;\n',
    error: "c.conf:1: expected a cluster name (quote a name that is a keyword), found keyword 'stop'",
  },
  {
    what: 'a number as cluster name',
    text: 'cluster 2003 forward 127.0.0.1;\n',
    error: 'c.conf:1: expected a cluster name (quote a name that is a keyword), found number 2003',
  },
  {
    what: 'a number as member',
    text: 'cluster c forward\n 10;\n',
    error: "c.conf:2: expected a member host[:port][=instance] of cluster 'c', found number 10",
  },
  {
    what: 'dynamic before replication',
    text: 'cluster h carbon_ch dynamic replication 1 127.0.0.1;\n',
    error: "c.conf:1: expected a member host[:port][=instance] of cluster 'h', found keyword 'replication'",
  },
  {
    what: 'member options out of order',
    text: 'cluster c forward 127.0.0.1 type linemode proto tcp;\n',
    error: "c.conf:1: expected ';' to end the cluster statement of line 1, found keyword 'proto'",
  },
  {
    what: 'ssl without transport',
    text: 'cluster c forward 127.0.0.1 ssl;\n',
    error: "c.conf:1: expected ';' to end the cluster statement of line 1, found keyword 'ssl'",
  },
  { what: 'match * with a second expression', text: `${C}match * stop;\n`, error: "c.conf:2: expected ';' to end the match statement of line 2, found 'stop'" },
  {
    what: 'validate without else',
    text: `${C}match * validate x drop;\n`,
    error: "c.conf:2: expected 'else' after the validate expression, found keyword 'drop'",
  },
  { what: 'send without to', text: `${C}match * send c;\n`, error: "c.conf:2: expected 'to' after send, found unexpected 'c'" },
  { what: 'rewrite *', text: 'rewrite * into b;\n', error: "c.conf:1: expected an expression after rewrite, found '*'" },
  { what: 'rewrite without into', text: 'rewrite a b;\n', error: "c.conf:1: expected 'into' after the rewrite expression, found unexpected 'b'" },
  { what: 'statistics: seconds missing', text: 'statistics submit every 10;\n', error: "c.conf:1: expected 'seconds' after the interval, found ';'" },
  { what: 'listen without proto', text: 'listen type linemode 2003;\n', error: "c.conf:1: expected proto after listen address '2003', found ';'" },
  { what: 'listen without type', text: 'listen linemode 2003 proto tcp;\n', error: "c.conf:1: expected 'type' after listen, found keyword 'linemode'" },
  { what: 'an unterminated string', text: `${C}match "abc\nsend to c;\n`, error: 'c.conf:2: unterminated string' },
  { what: 'an empty string', text: `${C}match "" send to c;\n`, error: 'c.conf:2: empty string' },
  { what: 'a quoted string that starts with # is a comment', text: `${C}match "#x" send to c;\n`, error: 'c.conf:3: unterminated string' },
  { what: 'a quoted string of 1024 bytes', text: `${C}match "${'a'.repeat(1024)}" send to c;\n`, error: 'c.conf:2: string too large' },

  // ---- refused: semantics ----
  { what: 'port 0', text: 'cluster c forward 127.0.0.1:0;\n', error: "c.conf:1: cluster 'c': member '127.0.0.1:0': invalid port number '0'" },
  { what: 'port 65536', text: 'cluster c forward 127.0.0.1:65536;\n', error: "c.conf:1: cluster 'c': member '127.0.0.1:65536': invalid port number '65536'" },
  { what: 'an empty port', text: 'cluster c forward 127.0.0.1:;\n', error: "c.conf:1: cluster 'c': member '127.0.0.1:': invalid port number ''" },
  { what: 'a [ without ]', text: 'cluster c forward [::1:2003;\n', error: "c.conf:1: cluster 'c': member '[::1:2003': expected ']'" },
  { what: 'a member without host', text: 'cluster c forward :2003;\n', error: "c.conf:1: cluster 'c': member ':2003': no host (expected host[:port])" },
  { what: 'replication 0', text: 'cluster h carbon_ch replication 0 127.0.0.1;\n', error: "c.conf:1: cluster 'h': replication must be 1 to 255, got 0" },
  { what: 'replication 256', text: 'cluster h fnv1a_ch replication 256 127.0.0.1;\n', error: "c.conf:1: cluster 'h': replication must be 1 to 255, got 256" },
  {
    what: 'replication above the member count',
    text: 'cluster h jump_fnv1a_ch replication 3 127.0.0.1:1 127.0.0.1:2;\n',
    error: "c.conf:1: cluster 'h': replication 3 needs at least as many members, it has 2",
  },
  {
    what: '65 members in a hash cluster',
    text: `cluster h fnv1a_ch ${Array.from({ length: 65 }, (_, i) => `127.0.0.1:${i + 1}`).join(' ')};\n`,
    error: "c.conf:1: cluster 'h': a fnv1a_ch cluster has at most 64 members, got 65",
  },
  { what: 'a cluster defined twice', text: `${C}\ncluster c forward 127.0.0.2;\n`, error: "c.conf:3: cluster 'c' is already defined at c.conf:1" },
  {
    what: 'a cluster named blackhole',
    text: 'cluster blackhole forward 127.0.0.1;\n',
    error: "c.conf:1: cluster name 'blackhole' is reserved (the built-in cluster that discards)",
  },
  {
    what: 'a cluster named "blackhole"',
    text: 'cluster "blackhole" forward 127.0.0.1;\n',
    error: "c.conf:1: cluster name 'blackhole' is reserved (the built-in cluster that discards)",
  },
  {
    what: 'send to an unknown cluster',
    text: `${C}match * send to c x;\n`,
    error: "c.conf:2: match: send to 'x': no cluster of that name is defined before this line",
  },
  {
    what: 'send to a cluster defined later',
    text: `match * send to c;\n${C}`,
    error: "c.conf:1: match: send to 'c': no cluster of that name is defined before this line",
  },
  {
    what: 'statistics to an unknown cluster',
    text: 'statistics send to x;\n',
    error: "c.conf:1: statistics: send to 'x': no cluster of that name is defined before this line",
  },
  {
    what: 'one server with two instances',
    text: 'cluster c forward 127.0.0.1:2003=a;\ncluster d carbon_ch 127.1:2003=b;\n',
    error: "c.conf:2: cluster 'd': member 127.1:2003: instance 'b', but the same server has instance 'a' in cluster 'c' at c.conf:1 (one instance per server)",
  },
  {
    what: 'one server with and without instance',
    text: 'cluster c forward 127.0.0.1;\ncluster d carbon_ch 127.0.0.1:2003=a;\n',
    error:
      "c.conf:2: cluster 'd': member 127.0.0.1:2003: instance 'a', but the same server has no instance in cluster 'c' at c.conf:1 (one instance per server)",
  },
  {
    what: 'an any_of cluster sharing a server',
    text: `${C}cluster d any_of 127.0.0.1:2003;\n`,
    error: "c.conf:2: cluster 'd': member 127.0.0.1:2003: any_of clusters cannot share a server (also in cluster 'c' at c.conf:1)",
  },
  {
    what: 'a failover cluster with a server twice',
    text: 'cluster d failover [::1] [0::1];\n',
    error: "c.conf:1: cluster 'd': member [0::1]:2003: failover clusters cannot share a server (also in cluster 'd' at c.conf:1)",
  },
  {
    what: 'statistics: interval 0',
    text: 'statistics submit every 0 seconds;\n',
    error: 'c.conf:1: statistics: submit every 0 seconds: the interval must be > 0',
  },
  {
    what: 'statistics: send to twice',
    text: `${C}send statistics to c;\nstatistics send to c;\n`,
    error: "c.conf:3: statistics: a second 'send to' (the first is at c.conf:2); name every cluster in one",
  },
  {
    what: 'a listener twice',
    text: 'listen type linemode 2003 proto tcp\n 2003 proto tcp;\n',
    error: 'c.conf:2: listen *:2003 proto tcp overlaps the listener of c.conf:1',
  },
  {
    what: 'a listener inside an any-address one',
    text: 'listen type linemode 0.0.0.0:2003 proto tcp;\nlisten type linemode 127.0.0.1 proto tcp;\n',
    error: 'c.conf:2: listen 127.0.0.1:2003 proto tcp overlaps the listener of c.conf:1',
  },
  {
    what: 'an IPv6 listener inside an any listener',
    text: 'listen type linemode 2003 proto tcp;\nlisten type linemode [::1]:2003 proto tcp;\n',
    error: 'c.conf:2: listen ::1:2003 proto tcp overlaps the listener of c.conf:1',
  },
  { what: 'listener port 0', text: 'listen type linemode 0 proto tcp;\n', error: "c.conf:1: listen '0': invalid port number '0'" },
  { what: 'include of a missing file', text: 'include nothing.conf;\n', error: "c.conf:1: include 'nothing.conf': cannot read it (ENOENT)" },
  {
    what: 'include of a glob without match',
    text: 'include inc/*.conf;\n',
    files: { 'inc/x.txt': '' },
    error: "c.conf:1: include 'inc/*.conf': no file matches",
  },
  { what: 'include of a directory', text: 'include inc;\n', files: { 'inc/x.conf': '' }, error: "c.conf:1: include 'inc': 'inc' is not a regular file" },
  {
    what: 'a file that includes itself (carbon-c-relay recurses until it crashes)',
    text: 'include c.conf;\n',
    error: "c.conf:1: include 'c.conf': a loop (c.conf includes c.conf)",
  },
  {
    what: 'an error in an included file names that file',
    text: 'include inc/a.conf;\n',
    files: { 'inc/a.conf': '\n\nmatch * send to nowhere;\n' },
    error: "inc/a.conf:3: match: send to 'nowhere': no cluster of that name is defined before this line",
  },

  // ---- refused: not supported (carbon-c-relay may accept them) ----
  {
    what: 'aggregate',
    text: 'aggregate ^a every 10 seconds expire after 20 seconds compute sum write to b;\n',
    error: 'c.conf:1: aggregate is not supported (the relay does not aggregate metrics)',
  },
  {
    what: 'a file cluster',
    text: 'cluster f\n  file /tmp/x;\n',
    error: "c.conf:2: cluster 'f': type file is not supported (the relay forwards to TCP destinations, it does not write files)",
  },
  {
    what: 'useall',
    text: 'cluster c forward useall 127.0.0.1;\n',
    error: "c.conf:1: cluster 'c': useall is not supported (it makes a member of every address a host name resolves to; the relay resolves each member to one)",
  },
  {
    what: 'proto udp',
    text: 'cluster c forward 127.0.0.1 proto udp;\n',
    error: "c.conf:1: cluster 'c': member '127.0.0.1': proto udp is not supported (members are TCP destinations)",
  },
  {
    what: 'type syslog',
    text: 'cluster c forward 127.0.0.1 type syslog;\n',
    error: "c.conf:1: cluster 'c': member '127.0.0.1': type syslog is not supported (the relay forwards lines as they are)",
  },
  ...['gzip', 'lz4', 'snappy'].map((t) => ({
    what: `transport ${t}`,
    text: `cluster c forward 127.0.0.1 transport ${t};\n`,
    error: `c.conf:1: cluster 'c': member '127.0.0.1': transport ${t} is not supported (members are plain TCP or TLS (transport plain ssl))`,
  })),
  {
    what: 'an IPv6 member without brackets',
    text: 'cluster c forward ::1;\n',
    error:
      "c.conf:1: cluster 'c': member '::1': an IPv6 address without brackets is not supported (carbon-c-relay reads it as host ':' port 1; write [v6] or [v6]:port)",
  },
  {
    what: 'one server with and without ssl',
    text: 'cluster c forward 127.0.0.1 transport plain ssl;\ncluster d forward 127.0.0.1;\n',
    error: "c.conf:2: cluster 'd': member 127.0.0.1:2003: one server with and without ssl is not supported (it is also in cluster 'c' at c.conf:1)",
  },
  {
    what: 'a match that does nothing (stop without send to is an expression)',
    text: 'match z stop;\n',
    error: 'c.conf:1: a match without send to or validate is not supported (it does nothing; carbon-c-relay 3.7 crashes on one after a match * … stop)',
  },
  {
    what: 'a match that does nothing after match * … stop (carbon-c-relay crashes)',
    text: 'match * send to blackhole;\nmatch * ;\n',
    error: 'c.conf:2: a match without send to or validate is not supported (it does nothing; carbon-c-relay 3.7 crashes on one after a match * … stop)',
  },
  {
    what: 'route using',
    text: `${C}match * route using a send to c;\n`,
    error: 'c.conf:2: match: route using is not supported (consistent hashing on a key other than the metric name)',
  },
  {
    what: 'rewrite "*"',
    text: 'rewrite "*" into b;\n',
    error: "c.conf:1: rewrite '*' is not supported (the match-all expression has no groups to rewrite with)",
  },
  {
    what: 'a unix listener',
    text: 'listen type linemode /tmp/relay.sock proto unix;\n',
    error: "c.conf:1: listen: '/tmp/relay.sock' proto unix is not supported (listeners are TCP or UDP)",
  },
  {
    what: 'an ssl listener',
    text: 'listen type linemode transport plain ssl /tmp/x.pem 2003 proto tcp;\n',
    error: "c.conf:1: listen: ssl is not supported (a TLS listener is the relay's own listener setting)",
  },
  {
    what: 'a gzip listener',
    text: 'listen type linemode transport gzip 2003 proto tcp;\n',
    error: 'c.conf:1: listen: transport gzip is not supported (listeners take plain lines)',
  },
];
