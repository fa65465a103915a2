/**
 * `relay man`: prints the manual page (roff, src/cli/man-page.ts) on stdout, the one that
 * `npm install` writes to man/relay.1: `relay man | man -l -` reads it where `man relay` cannot
 * find it (a local install, a checkout).
 */
import { Command } from 'commander';

/** The man subcommand; the page goes to `writeOut`. */
export function manCommand(writeOut: (text: string) => void): Command {
  return new Command('man').description('print this manual page (roff) on stdout: relay man | man -l -').action(async (_options: unknown, command: Command) => {
    // Loaded when used: the relay's own start never pays for the page.
    const { renderManPage } = await import('./man-page.js');
    writeOut(renderManPage(command.parent!));
  });
}
