/** `relay top --metrics HOST:PORT`: a refreshing terminal view of a running relay's /stats. */
import { Command } from 'commander';
import type { HostPort } from '../config/address.js';
import { formatHostPort } from '../config/address.js';
import { RelayError } from '../errors.js';
import type { Snapshot } from '../metrics/snapshot-types.js';
import { renderTop } from '../metrics/top-view.js';
import { durationOption, hostPortOption } from './parsers.js';

interface TopOptions {
  metrics: HostPort;
  interval: number;
  once: boolean;
}

/** The top subcommand. */
export function topCommand(): Command {
  return new Command('top')
    .description('watch a running relay: rates, lag, drops and ring fill, refreshed in place')
    .requiredOption('--metrics <host:port>', "the relay's --metrics address", hostPortOption('--metrics'))
    .option('--interval <duration>', 'refresh period', durationOption('--interval', { min: 100, max: 60_000 }), 1000)
    .option('--once', 'print one screen (rates over one interval) and exit; the default when stdout is not a terminal', false)
    .addHelpText('after', `\nExample:\n  relay udp@0.0.0.0:2008 tcp@127.0.0.1:2009 --metrics 127.0.0.1:9108 &\n  relay top --metrics 127.0.0.1:9108`)
    .action(async (options: TopOptions) => {
      await top(options);
    });
}

async function top(options: TopOptions): Promise<void> {
  const url = `http://${formatHostPort(options.metrics.host, options.metrics.port)}/stats`;
  const fetchSnapshot = async (): Promise<Snapshot> => {
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return (await response.json()) as Snapshot;
    } catch (error) {
      throw new RelayError('ERR_TOP_FETCH', `cannot read ${url}: ${(error as Error).message}`, { cause: error });
    }
  };
  const once = options.once || !process.stdout.isTTY;
  let previous = await fetchSnapshot();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, options.interval));
    const current = await fetchSnapshot();
    const lines = renderTop(previous, current, process.stdout.columns ?? (Number(process.env.COLUMNS) || 120));
    if (once) {
      process.stdout.write(`${lines.join('\n')}\n`);
      return;
    }
    // Home the cursor and clear the screen, then draw.
    process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
    previous = current;
  }
}
