/** `relay sink tcp@HOST:PORT`: a TCP receiver that decodes a framing and prints or counts messages. */
import { Command, Option } from 'commander';
import type net from 'node:net';
import { once } from 'node:events';
import type { Endpoint } from '../config/address.js';
import { formatHostPort } from '../config/address.js';
import { resolveHost } from '../config/resolve.js';
import { DEFAULTS } from '../config/config.js';
import { createFramedServer } from '../framing/framed-server.js';
import type { FramingName } from '../framing/index.js';
import { RelayError } from '../errors.js';
import { endpointArgument, framingOption, sizeOption } from './parsers.js';

interface SinkOptions {
  framing: FramingName;
  count: boolean;
  maxMessage: number;
}

/** The sink subcommand. */
export function sinkCommand(): Command {
  return new Command('sink')
    .description('listen on TCP, decode framed messages and print each on its own line (or count them)')
    .argument(
      '<listen>',
      'tcp@HOST:PORT (port 0 picks a free one)',
      endpointArgument({ schemes: ['tcp'], allowPortZero: true, allowFraming: true, what: 'sink address' }),
    )
    .addOption(new Option('--framing <name>', 'framing to decode').default(DEFAULTS.framing).argParser(framingOption))
    .option('--count', 'print running totals once a second instead of the messages', false)
    .option('--max-message <bytes>', 'largest frame accepted', sizeOption('--max-message', { min: 1, max: 64 * 1024 * 1024 }), 16 * 1024 * 1024)
    .addHelpText('after', `\nExamples:\n  relay sink tcp@127.0.0.1:2009\n  relay sink 'tcp@127.0.0.1:2009?framing=lf' --count`)
    .action(async (listen: Endpoint, options: SinkOptions) => {
      await sink(listen, options);
    });
}

async function sink(listen: Endpoint, options: SinkOptions): Promise<void> {
  const framing = listen.framing ?? options.framing;
  let messages = 0;
  let bytes = 0;
  const server = createFramedServer({
    framing,
    maxMessageBytes: options.maxMessage,
    accept: (socket) => ({
      messages: (payloads) => {
        for (const payload of payloads) {
          messages++;
          bytes += payload.length;
          if (!options.count) process.stdout.write(Buffer.concat([payload, NEWLINE]));
        }
      },
      garbage: (error) => void process.stderr.write(`relay sink: closing ${socket.remoteAddress}: ${error.message}\n`),
    }),
  });
  const address = await resolveHost(listen.host, `cannot listen on ${listen.text}`);
  server.listen({ host: address.host, port: listen.port });
  try {
    // once() rejects with the server's 'error' (EADDRINUSE, EACCES…) if that comes first.
    await once(server, 'listening');
  } catch (error) {
    throw new RelayError('ERR_BIND', `cannot listen on ${listen.text}: ${(error as Error).message}`, { cause: error });
  }
  const bound = server.address() as net.AddressInfo;
  process.stderr.write(`relay sink: listening on tcp@${formatHostPort(bound.address, bound.port)} (framing ${framing})\n`);
  const report = (): void => void process.stdout.write(`${messages} messages, ${bytes} bytes\n`);
  if (options.count) {
    let last = -1;
    setInterval(() => {
      if (messages !== last) report();
      last = messages;
    }, 1000).unref();
  }
  const stop = (): void => {
    if (options.count) report();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const NEWLINE = Buffer.from('\n');
