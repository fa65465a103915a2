/**
 * `relay sink tcp@HOST:PORT` (or `tls@HOST:PORT` with --tls-cert/--tls-key, and --tls-ca to
 * require client certificates): a receiver that decodes a framing and prints or counts messages.
 * `relay sink relp@HOST:PORT` receives RELP as rsyslog's imrelp does (src/relp/server.ts),
 * answering 200 to each message once printed or counted.
 */
import { Command, Option } from 'commander';
import type { Endpoint } from '../config/address.js';
import { DEFAULTS } from '../config/config.js';
import { formatDurationMs } from '../config/size.js';
import { FRAME_TIMEOUT_MS } from '../relp/frame.js';
import type { SinkOptions } from './sink-serve.js';
import { durationOption, endpointArgument, fileOption, framingOption, sizeOption } from './parsers.js';

/** The sink subcommand. */
export function sinkCommand(): Command {
  return new Command('sink')
    .description('listen on TCP (or TLS, or RELP), decode framed messages and print each on its own line (or count them)')
    .argument(
      '<listen>',
      'tcp@HOST:PORT, tls@HOST:PORT or relp@HOST:PORT (port 0 picks a free one)',
      endpointArgument({ schemes: ['tcp', 'tls', 'relp'], allowPortZero: true, query: { tcp: ['framing'], tls: ['framing'] }, what: 'sink address' }),
    )
    .addOption(new Option('--framing <name>', 'framing to decode').default(DEFAULTS.framing).argParser(framingOption))
    .option('--count', 'print running totals once a second instead of the messages', false)
    .option('--max-message <bytes>', 'largest frame accepted', sizeOption('--max-message', { min: 1, max: 64 * 1024 * 1024 }), 16 * 1024 * 1024)
    .addOption(
      new Option('--frame-timeout <duration>', "relp@: most time from a frame's first byte to its end; a slower frame closes the session")
        .default(FRAME_TIMEOUT_MS, formatDurationMs(FRAME_TIMEOUT_MS))
        .argParser(durationOption('--frame-timeout', { min: 1, max: 3_600_000 })),
    )
    .option('--tls-cert <file>', 'PEM certificate a tls@ sink presents (with --tls-key)', fileOption)
    .option('--tls-key <file>', 'PEM private key of --tls-cert', fileOption)
    .option('--tls-ca <file>', 'PEM CA certificates: a tls@ sink then requires client certificates signed by them (mutual TLS)', fileOption)
    .addHelpText(
      'after',
      `\nExamples:\n  relay sink tcp@127.0.0.1:2009\n  relay sink 'tcp@127.0.0.1:2009?framing=lf' --count\n  relay sink tls@127.0.0.1:6514 --tls-cert server.pem --tls-key server.key [--tls-ca clients-ca.pem]\n  relay sink relp@127.0.0.1:2514`,
    )
    .action(async (listen: Endpoint, options: SinkOptions) => {
      // Loaded when used: the relay's own start (the default command) never pays for the servers' modules.
      const { sink } = await import('./sink-serve.js');
      await sink(listen, options);
    });
}
