/** `relay send udp@HOST:PORT`: each line on stdin becomes one datagram. */
import { Command } from 'commander';
import dgram from 'node:dgram';
import readline from 'node:readline';
import { once } from 'node:events';
import type { Endpoint } from '../config/address.js';
import { resolveHost } from '../config/resolve.js';
import { endpointArgument } from './parsers.js';

/** The send subcommand. */
export function sendCommand(): Command {
  return new Command('send')
    .description('send each line of stdin as one UDP datagram (without its newline)')
    .argument('<target>', 'udp@HOST:PORT', endpointArgument({ schemes: ['udp'], allowPortZero: false, query: {}, what: 'target' }))
    .addHelpText('after', `\nExample:\n  printf 'hello\\nworld\\n' | relay send udp@127.0.0.1:2008`)
    .action(async (target: Endpoint) => {
      const address = await resolveHost(target.host, `cannot send to ${target.text}`);
      const socket = dgram.createSocket(address.family === 6 ? 'udp6' : 'udp4');
      socket.connect(target.port, address.host);
      await once(socket, 'connect');
      let sent = 0;
      for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        // Waiting for each send keeps a long stdin from queueing unbounded datagrams in memory.
        await new Promise<void>((resolve, reject) => socket.send(line, (error) => (error ? reject(error) : resolve())));
        sent++;
      }
      socket.close();
      process.stderr.write(`relay send: sent ${sent} datagram(s) to ${target.text}\n`);
    });
}
