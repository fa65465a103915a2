/**
 * The statements of one carbon-c-relay 3.7 configuration file, parsed by its grammar (its
 * conffile.y describes the language; this is our own code) from the tokens of carbon-lexer.ts, one
 * statement at a time so that errors come in file order. What needs no other statement is checked
 * here (member and listener addresses, counts); what does (cluster names, shared servers,
 * duplicate listeners, includes) is carbon-config.ts's. The constructs the relay does not support
 * are refused at their keyword with one line naming them, whatever follows.
 */
import { parseAddress } from './carbon-address.js';
import type { CarbonCluster, CarbonClusterType, CarbonListener, CarbonMatch, CarbonMember, CarbonRewrite, CarbonSource } from './carbon-types.js';
import { atoi, END, INTVAL, STRING } from './carbon-lexer.js';
import { configError, TokenCursor, unsupported } from './carbon-token-cursor.js';

/** CONN_DESTS_SIZE in carbon-c-relay's router.h: the most members a consistent-hash cluster may have. */
const MAX_HASH_MEMBERS = 64;

/** One `statistics` or `send statistics to` statement, before the statements are merged. */
export interface StatisticsStatement extends CarbonSource {
  kind: 'statistics';
  intervalSeconds?: number;
  /** Set by every `statistics` statement (false without the clause), never by `send statistics to`. */
  resetCounters?: boolean;
  prefix?: string;
  send?: string[];
}

/** One statement of a file, with its file and line. */
export type CarbonStatement =
  | (CarbonSource & { kind: 'cluster'; cluster: CarbonCluster })
  | CarbonMatch
  | CarbonRewrite
  | StatisticsStatement
  | (CarbonSource & { kind: 'listen'; listeners: CarbonListener[] })
  | (CarbonSource & { kind: 'include'; pattern: string });

/** Parses the statements of one file's text, yielding each as soon as it is complete. */
export function* carbonStatements(text: string, file: string): Generator<CarbonStatement> {
  const parser = new StatementParser(text, file);
  for (;;) {
    const statement = parser.statement();
    if (statement === undefined) return;
    yield statement;
  }
}

class StatementParser extends TokenCursor {
  /** The next statement, or undefined at the end of the file. */
  statement(): CarbonStatement | undefined {
    const start = this.token;
    const at = this.at(start);
    let statement: CarbonStatement;
    switch (start.kind) {
      case END:
        return undefined;
      case 'cluster':
        statement = this.cluster(at);
        break;
      case 'match':
        statement = this.match(at);
        break;
      case 'rewrite':
        statement = this.rewrite(at);
        break;
      case 'aggregate':
        throw unsupported(at, 'aggregate', 'the relay does not aggregate metrics');
      case 'send':
        this.advance();
        this.expect('statistics', "'statistics' after 'send'");
        this.expect('to', "'to' after 'send statistics'");
        statement = { kind: 'statistics', ...at, send: this.destinations() };
        if (this.is('stop')) this.advance(); // parsed and ignored by carbon-c-relay too
        break;
      case 'statistics':
        statement = this.statistics(at);
        break;
      case 'listen':
        statement = this.listen(at);
        break;
      case 'include':
        this.advance();
        statement = { kind: 'include', ...at, pattern: this.expect(STRING, 'a file or glob after include').text };
        break;
      default:
        throw this.syntax('a statement (cluster, match, rewrite, statistics, listen, include)');
    }
    this.expect(';', `';' to end the ${start.kind} statement of line ${start.line}`);
    return statement;
  }

  private cluster(at: CarbonSource): CarbonStatement {
    this.advance();
    if (this.is('blackhole')) throw configError(this.at(this.token), "cluster name 'blackhole' is reserved (the built-in cluster that discards)");
    const name = this.expect(STRING, 'a cluster name (quote a name that is a keyword)').text;
    const type = this.kind();
    const cluster: CarbonCluster = { ...at, name, type: type as CarbonClusterType, replication: 1, dynamic: false, members: [] };
    if (type === 'forward' || type === 'any_of' || type === 'failover') {
      this.advance();
      if (this.is('useall')) {
        throw unsupported(
          this.at(this.token),
          `cluster '${name}': useall`,
          'it makes a member of every address a host name resolves to; the relay resolves each member to one',
        );
      }
    } else if (type === 'carbon_ch' || type === 'fnv1a_ch' || type === 'jump_fnv1a_ch') {
      this.advance();
      if (this.is('replication')) {
        this.advance();
        cluster.replication = atoi(this.expect(INTVAL, 'a count after replication').text);
        if (cluster.replication < 1 || cluster.replication > 255) {
          throw configError(at, `cluster '${name}': replication must be 1 to 255, got ${cluster.replication}`);
        }
      }
      if (this.is('dynamic')) {
        this.advance();
        cluster.dynamic = true;
      }
    } else if (type === 'file') {
      throw unsupported(this.at(this.token), `cluster '${name}': type file`, 'the relay forwards to TCP destinations, it does not write files');
    } else {
      throw this.syntax(`a cluster type after cluster '${name}' (forward, any_of, failover, carbon_ch, fnv1a_ch, jump_fnv1a_ch)`);
    }
    if (!this.is(STRING)) throw this.syntax(`a member host[:port][=instance] of cluster '${name}'`);
    while (this.is(STRING)) cluster.members.push(this.member(name));
    if (type.endsWith('_ch') && cluster.members.length > MAX_HASH_MEMBERS) {
      throw configError(at, `cluster '${name}': a ${type} cluster has at most ${MAX_HASH_MEMBERS} members, got ${cluster.members.length}`);
    }
    return { kind: 'cluster', ...at, cluster };
  }

  private member(cluster: string): CarbonMember {
    const hostToken = this.advance();
    const at = this.at(hostToken);
    const what = `cluster '${cluster}': member '${hostToken.text}'`;
    let instance: string | undefined;
    if (this.is('=')) {
      this.advance();
      const value = this.token;
      // carbon-c-relay stores an unquoted number through an int: =007 is 7
      if (value.kind === INTVAL) instance = String(atoi(value.text));
      else if (value.kind === STRING) instance = value.text;
      else throw this.syntax(`an instance after '=' of ${what}`);
      this.advance();
    }
    if (this.is('proto')) {
      this.advance();
      if (this.is('udp')) throw unsupported(this.at(this.token), `${what}: proto udp`, 'members are TCP destinations');
      this.expect('tcp', `udp or tcp after proto (${what})`);
    }
    if (this.is('type')) {
      this.advance();
      if (this.is('syslog')) throw unsupported(this.at(this.token), `${what}: type syslog`, 'the relay forwards lines as they are');
      this.expect('linemode', `linemode or syslog after type (${what})`);
    }
    let tls = false;
    if (this.is('transport')) {
      this.advance();
      const transport = this.kind();
      if (transport === 'gzip' || transport === 'lz4' || transport === 'snappy') {
        throw unsupported(this.at(this.token), `${what}: transport ${transport}`, 'members are plain TCP or TLS (transport plain ssl)');
      }
      this.expect('plain', `plain, gzip, lz4 or snappy after transport (${what})`);
      if (this.is('ssl')) {
        this.advance();
        tls = true;
      }
    }
    const address = parseAddress(hostToken.text);
    if (typeof address === 'string') throw configError(at, `${what}: ${address}`);
    if (address.host === undefined || address.host === '') throw configError(at, `${what}: no host (expected host[:port])`);
    if (address.host.includes(':') && !hostToken.text.startsWith('[')) {
      throw unsupported(
        at,
        `${what}: an IPv6 address without brackets`,
        `carbon-c-relay reads it as host '${address.host}' port ${address.port}; write [v6] or [v6]:port`,
      );
    }
    return { ...at, host: address.host, port: address.port, ...(instance === undefined ? {} : { instance }), tls };
  }

  private match(at: CarbonSource): CarbonMatch {
    this.advance();
    const expressions: string[] = [];
    if (this.is('*')) {
      this.advance();
      expressions.push('*');
    } else {
      if (!this.is(STRING)) throw this.syntax("'*' or an expression after match");
      while (this.is(STRING)) expressions.push(this.advance().text);
    }
    const match: CarbonMatch = { kind: 'match', ...at, expressions, stop: false };
    if (this.is('validate')) {
      this.advance();
      const expression = this.expect(STRING, 'an expression after validate').text;
      this.expect('else', "'else' after the validate expression");
      const onFailure = this.kind();
      if (onFailure !== 'log' && onFailure !== 'drop') throw this.syntax("log or drop after 'validate … else'");
      this.advance();
      match.validate = { expression, onFailure };
    }
    if (this.is('route')) {
      throw unsupported(this.at(this.token), 'match: route using', 'consistent hashing on a key other than the metric name');
    }
    if (this.is('send')) {
      this.advance();
      this.expect('to', "'to' after send");
      match.send = this.destinations();
    }
    if (this.is('stop')) {
      this.advance();
      match.stop = true;
    }
    if (match.send === undefined && match.validate === undefined && this.is(';')) {
      throw unsupported(at, 'a match without send to or validate', 'it does nothing; carbon-c-relay 3.7 crashes on one after a match * … stop');
    }
    // conffile.y: `stop` without destinations is ignored, and a first destination blackhole stops
    if (match.send === undefined) match.stop = false;
    else if (match.send[0] === 'blackhole') match.stop = true;
    return match;
  }

  /** `blackhole`, or one or more cluster names (a quoted "blackhole" among them is the built-in cluster too). */
  private destinations(): string[] {
    if (this.is('blackhole')) {
      this.advance();
      return ['blackhole'];
    }
    if (!this.is(STRING)) throw this.syntax("blackhole or a cluster name after 'send to' (quote a name that is a keyword)");
    const names: string[] = [];
    while (this.is(STRING)) names.push(this.advance().text);
    return names;
  }

  private rewrite(at: CarbonSource): CarbonRewrite {
    this.advance();
    const expression = this.expect(STRING, 'an expression after rewrite').text;
    if (expression === '*') throw unsupported(at, "rewrite '*'", 'the match-all expression has no groups to rewrite with');
    this.expect('into', "'into' after the rewrite expression");
    return { kind: 'rewrite', ...at, expression, replacement: this.expect(STRING, 'a replacement after into').text };
  }

  private statistics(at: CarbonSource): StatisticsStatement {
    this.advance();
    const statement: StatisticsStatement = { kind: 'statistics', ...at, resetCounters: false };
    if (this.is('submit')) {
      this.advance();
      this.expect('every', "'every' after submit");
      const intervalToken = this.expect(INTVAL, "a number of seconds after 'submit every'");
      this.expect('seconds', "'seconds' after the interval");
      statement.intervalSeconds = atoi(intervalToken.text);
      if (statement.intervalSeconds <= 0) throw configError(at, `statistics: submit every ${statement.intervalSeconds} seconds: the interval must be > 0`);
    }
    if (this.is('reset')) {
      this.advance();
      this.expect('counters', "'counters' after reset");
      this.expect('after', "'after' after 'reset counters'");
      this.expect('interval', "'interval' after 'reset counters after'");
      statement.resetCounters = true;
    }
    if (this.is('prefix')) {
      this.advance();
      this.expect('with', "'with' after prefix");
      statement.prefix = this.expect(STRING, "a prefix after 'prefix with'").text;
    }
    if (this.is('send')) {
      this.advance();
      this.expect('to', "'to' after send");
      statement.send = this.destinations();
    }
    if (this.is('stop')) this.advance(); // parsed and ignored by carbon-c-relay too
    return statement;
  }

  private listen(at: CarbonSource): CarbonStatement {
    this.advance();
    this.expect('type', "'type' after listen");
    this.expect('linemode', "'linemode' after 'listen type'");
    if (this.is('transport')) {
      this.advance();
      const transport = this.kind();
      if (transport === 'gzip' || transport === 'lz4' || transport === 'snappy') {
        throw unsupported(this.at(this.token), `listen: transport ${transport}`, 'listeners take plain lines');
      }
      this.expect('plain', 'plain, gzip, lz4 or snappy after transport');
      if (this.is('ssl')) throw unsupported(this.at(this.token), 'listen: ssl', "a TLS listener is the relay's own listener setting");
    }
    const listeners: CarbonListener[] = [];
    if (!this.is(STRING)) throw this.syntax('an address (port, host, host:port or [v6]:port) to listen on');
    while (this.is(STRING)) {
      const addressToken = this.advance();
      const where = this.at(addressToken);
      this.expect('proto', `proto after listen address '${addressToken.text}'`);
      const proto = this.kind();
      if (proto === 'unix') throw unsupported(this.at(this.token), `listen: '${addressToken.text}' proto unix`, 'listeners are TCP or UDP');
      if (proto !== 'tcp' && proto !== 'udp') throw this.syntax(`tcp, udp or unix after proto (listen address '${addressToken.text}')`);
      this.advance();
      // receptor in conffile.y: digits alone are a port on every interface
      const address = parseAddress(/^[0-9]+$/.test(addressToken.text) ? `:${addressToken.text}` : addressToken.text);
      if (typeof address === 'string') throw configError(where, `listen '${addressToken.text}': ${address}`);
      if (address.host === '') throw configError(where, `listen '${addressToken.text}': no host (expected port, host:port or [v6]:port)`);
      if (address.host?.includes(':') && !addressToken.text.startsWith('[')) {
        throw configError(where, `listen '${addressToken.text}': an IPv6 address needs brackets ([v6]:port)`);
      }
      listeners.push({ ...where, ...(address.host === undefined ? {} : { host: address.host }), port: address.port, proto });
    }
    return { kind: 'listen', ...at, listeners };
  }
}
