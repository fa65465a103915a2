/**
 * The CLI's entry: builds the commander program (the relay itself is the default command; sink
 * and send are subcommands) and is the one top-level error handler: every error ends as one
 * `relay: …` line on stderr and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RelayError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { configureRun } from './run.js';
import { sendCommand } from './send.js';
import { sinkCommand } from './sink.js';
import { topCommand } from './top.js';
import { benchCommand } from './bench.js';

const { version } = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };

/** Usage errors exit 2, like the errors our own parsers raise for bad input. */
const USAGE_EXIT_CODE = 2;

/** Commander's own lead-in to an argument error; our parsers' messages already name the input. */
const COMMANDER_LEAD_IN = /^error: (?:command-argument value '.*?' is invalid for argument '.*?'\. |option '.*?' argument '.*?' is invalid\. )?/;

/** Errors as one `relay: …` line, and exits left to the handler below; for the command and its subcommands. */
function quietExits(command: Command): Command {
  command.exitOverride().configureOutput({
    outputError: (message, write) => write(`relay: ${message.replace(COMMANDER_LEAD_IN, '')}`),
  });
  for (const sub of command.commands) quietExits(sub);
  return command;
}

const program = quietExits(
  configureRun(
    new Command('relay')
      .description('Receive datagrams on UDP and forward every one to every TCP destination, in order, framed.')
      .version(version)
      // sink and send have options of the same names as the relay's (--framing): options after a
      // subcommand's name belong to it.
      .enablePositionalOptions(),
  ),
);
program.addCommand(quietExits(sinkCommand()));
program.addCommand(quietExits(sendCommand()));
program.addCommand(quietExits(topCommand()));
program.addCommand(quietExits(benchCommand()));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
    process.exit(ok ? 0 : USAGE_EXIT_CODE);
  }
  if (error instanceof RelayError) {
    process.stderr.write(`relay: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`relay: internal error: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
