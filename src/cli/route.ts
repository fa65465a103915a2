/**
 * `relay route --test [RELAY ARGUMENTS...]`: reads lines on stdin and prints, for each, the rules
 * it matches, the line as rewritten (and cleansed), and the destinations and group members it
 * goes to (src/route/route-explain.ts). The relay arguments are the run command's: `--config
 * FILE`, or a listener, destinations and `--group`s.
 */
import { Command } from 'commander';
import { createInterface } from 'node:readline';
import { RelayError } from '../errors.js';
import { explainLine } from '../route/route-explain.js';
import { routerFor } from '../route/route-table.js';
import { configureRun } from './run.js';
import { loadSettings, type RunOptions, type RunSettings } from './run-settings.js';

/** The route subcommand. */
export function routeCommand(): Command {
  return new Command('route')
    .description('show where lines read on stdin would go: the rules they match, the line as rewritten, and the destinations and group members')
    .option('--test', 'read lines on stdin and explain each (the only mode)')
    .argument('[relay...]', "the relay's own arguments: --config FILE, or LISTENER DESTINATION... with --group")
    .allowUnknownOption()
    .helpOption('-h, --help')
    .addHelpText('after', '\nExamples:\n  printf "sys.cpu 1 1700000000\\n" | relay route --test --config relay.toml')
    .action(async (relay: string[], options: { test?: boolean }) => {
      if (!options.test) throw new RelayError('ERR_BAD_OPTION', "relay route: give --test (and the relay's arguments, e.g. --config FILE)");
      const settings = settingsOf(relay);
      const router = routerFor(settings.config.routes);
      const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
      for await (const line of lines) {
        process.stdout.write(`${line}\n${explainLine(settings.config, router, Buffer.from(line, 'latin1')).join('\n')}\n`);
      }
    });
}

/** The settings the relay would run with for `args` (its own command line), without running it. */
function settingsOf(args: string[]): RunSettings {
  let settings: RunSettings | undefined;
  const program = configureRun(new Command('relay').exitOverride(), () => {});
  program.action((listener: string | undefined, destinations: string[], options: RunOptions, command: Command) => {
    settings = loadSettings(command, listener === undefined ? destinations : [listener, ...destinations], options);
  });
  program.parse(args, { from: 'user' });
  return settings!;
}
