/**
 * The CLI as a function: buildProgram() makes the commander program (the relay itself is the
 * default command; sink, send, top, bench, route and man are subcommands) and runCli() is the one top-level
 * error handler: every error ends as one `relay: …` line on stderr and an exit code, returned,
 * never passed to process.exit (main.ts decides that), so tests can run the CLI in-process.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../package-root.js';
import { RelayError } from '../errors.js';
import { configureRun } from './run.js';
import { sendCommand } from './send.js';
import { sinkCommand } from './sink.js';
import { topCommand } from './top.js';
import { benchCommand } from './bench.js';
import { routeCommand } from './route.js';
import { manCommand } from './man.js';

const { version } = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };

/** Where the CLI's own output goes: help and version on writeOut, every error line on writeErr. */
export interface CliIo {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

/** The real streams. */
export const PROCESS_IO: CliIo = {
  writeOut: (text) => void process.stdout.write(text),
  writeErr: (text) => void process.stderr.write(text),
};

/** Usage errors exit 2, like the errors our own parsers raise for bad input. */
export const USAGE_EXIT_CODE = 2;

/** Commander's own lead-in to an argument error; our parsers' messages already name the input. */
const COMMANDER_LEAD_IN = /^error: (?:command-argument value '.*?' is invalid for argument '.*?'\. |option '.*?' argument '.*?' is invalid\. )?/;

/** Throws instead of exiting, writes through `io`, and prints errors as `relay: …`; for the command and its subcommands (bench summarize). */
function quietExits(command: Command, io: CliIo): Command {
  command.exitOverride().configureOutput({
    writeOut: (text) => io.writeOut(text),
    writeErr: (text) => io.writeErr(text),
    outputError: (message, write) => write(`relay: ${message.replace(COMMANDER_LEAD_IN, '')}`),
  });
  for (const sub of command.commands) quietExits(sub, io);
  return command;
}

/** The configured program; a fresh one per parse (commander keeps parsed values on it). */
export function buildProgram(io: CliIo = PROCESS_IO): Command {
  const program = quietExits(
    configureRun(
      new Command('relay')
        .description('Receive datagrams on UDP and forward every one to every TCP destination, in order, framed.')
        .version(version)
        // sink and send have options of the same names as the relay's (--framing): options after a
        // subcommand's name belong to it.
        .enablePositionalOptions(),
      (text) => io.writeOut(text),
    ),
    io,
  );
  program.addCommand(quietExits(sinkCommand(), io));
  program.addCommand(quietExits(sendCommand(), io));
  program.addCommand(quietExits(topCommand(), io));
  program.addCommand(quietExits(benchCommand(), io));
  program.addCommand(quietExits(routeCommand(), io));
  program.addCommand(
    quietExits(
      manCommand((text) => io.writeOut(text)),
      io,
    ),
  );
  return program;
}

/**
 * Parses `argv` (as process.argv: node, script, then the arguments) and runs the command's action.
 * Resolves with the exit code: 0 once the action has returned (for the relay and sink that is
 * when they are up and running: they end the process themselves, on a signal), 0 after --help
 * and --version, 2 for a usage error, a RelayError's exitCode, or 1 for anything else
 * ("relay: internal error: …"). Every error is written to `io.writeErr` as one `relay: …` line.
 */
export async function runCli(argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv as string[], { from: 'node' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help, or the version) through io.
      const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      return ok ? 0 : USAGE_EXIT_CODE;
    }
    if (error instanceof RelayError) {
      io.writeErr(`relay: ${error.message}\n`);
      return error.exitCode;
    }
    io.writeErr(`relay: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}
