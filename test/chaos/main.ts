/**
 * `npm run chaos`: seeded fault schedules against the real `bin/relay` and real receivers
 * (./execute.ts runs one, ./ledger.ts judges it). Seeds run in order from --first (1): the same
 * seeds every time for a given --seconds, new ones the longer it runs.
 *
 *   npm run chaos                      one minute's worth (what CI runs)
 *   npm run chaos -- --seconds 1200    schedules back to back for 20 minutes
 *   npm run chaos -- --seed 7          replays seed 7 alone
 *   npm run chaos -- --without groups  leaves a kind of content out (rsyslog, groups)
 *
 * Prints one line per schedule, each failure with its replay command, and last `N passed, M failed`;
 * exits 1 if any failed.
 */
import { RSYSLOG_MISSING } from '../helpers/rsyslog.js';
import { runSchedule } from './execute.js';
import { describeSchedule, generateSchedule, type Optional } from './schedule.js';

interface Options {
  seed: number | undefined;
  first: number;
  seconds: number;
  without: Set<Optional>;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { seed: undefined, first: 1, seconds: 60, without: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    const number = Number(value);
    if (flag === '--without' && (value === 'rsyslog' || value === 'groups')) options.without.add(value);
    else if (!Number.isInteger(number) || number < 0)
      throw new Error(`${flag} ${value ?? ''}: expected --seed N, --first N, --seconds N or --without rsyslog|groups`);
    else if (flag === '--seed') options.seed = number;
    else if (flag === '--first') options.first = number;
    else if (flag === '--seconds') options.seconds = number;
    else throw new Error(`unknown option ${flag}: expected --seed N, --first N, --seconds N or --without rsyslog|groups`);
  }
  return options;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (RSYSLOG_MISSING !== undefined) {
    if (process.env.CI === 'true') throw new Error(`${RSYSLOG_MISSING}, and CI=true requires it`);
    console.log(`chaos: ${RSYSLOG_MISSING}: schedules run without rsyslog`);
    options.without.add('rsyslog');
  }
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    console.log('chaos: SIGINT: stopping after this schedule');
  });
  const deadline = Date.now() + options.seconds * 1000;
  let passed = 0;
  const failed: number[] = [];
  for (let seed = options.seed ?? options.first; ; seed++) {
    const schedule = generateSchedule(seed, options.without);
    const startedMs = Date.now();
    const outcome = await runSchedule(schedule);
    const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
    const verdict = outcome.failures.length === 0 ? 'ok' : 'FAILED';
    console.log(`seed ${seed}: ${verdict} in ${seconds} s — ${describeSchedule(schedule)}; ${outcome.summary}`);
    if (outcome.failures.length === 0) passed++;
    else {
      failed.push(seed);
      for (const failure of outcome.failures) console.log(`  ${failure}`);
      console.log(`  replay: npm run chaos -- --seed ${seed}${[...options.without].map((w) => ` --without ${w}`).join('')}`);
    }
    if (options.seed !== undefined || interrupted || Date.now() >= deadline) break;
  }
  if (failed.length > 0) console.log(`failed seeds: ${failed.join(' ')}`);
  console.log(`${passed} passed, ${failed.length} failed`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`chaos: ${error.message}`);
    process.exit(2);
  },
);
