/**
 * The CLI's entry (bin/relay imports it): runs the CLI on process.argv and exits with its code
 * when that is not 0. On 0 it leaves the process alone: the relay and sink resolve once they are
 * running and end the process from their own SIGINT/SIGTERM handlers (run.ts, sink.ts), which
 * call process.exit; after send, top --once, --help and --version nothing is left running, so
 * the process ends by itself.
 */
import { runCli } from './program.js';

// Output piped into a reader that closed (`relay --help | head`): nobody reads any more, which is
// no error of ours. Without a listener Node throws EPIPE as an unhandled 'error' event.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const code = await runCli(process.argv);
if (code !== 0) process.exit(code);
