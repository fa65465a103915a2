/**
 * The build step that writes the manual page (src/cli/man-page.ts) to man/relay.1, which
 * package.json's `man` field installs: run by `prepare` after tsc, and by `npm run build:man`.
 * `node dist/cli/man-build.js FILE` writes it to FILE instead.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../package-root.js';
import { MAN_PAGE_FILE, renderManPage } from './man-page.js';
import { buildProgram } from './program.js';

const target = process.argv[2] ?? path.join(packageRoot(), MAN_PAGE_FILE);
mkdirSync(path.dirname(target), { recursive: true });
writeFileSync(target, renderManPage(buildProgram()));
