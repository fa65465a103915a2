/** The CLI run in-process with its output captured (runCli with a CliIo of strings). */
import { runCli, type CliIo } from '../../src/cli/program.js';

/** Runs the CLI on `args` (what follows `relay` on a command line) with stdout and stderr captured. */
export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    writeOut: (text) => {
      stdout += text;
    },
    writeErr: (text) => {
      stderr += text;
    },
  };
  const code = await runCli(['node', 'relay', ...args], io);
  return { code, stdout, stderr };
}
