/**
 * What the relay loads at start: the static imports reachable from the CLI's entry (compiled,
 * so type-only imports are gone). `relay bench` and `relay sink` load their modules when they run
 * (dynamic import()); a static import of them would put piscina, the histograms, the sinks and
 * the RELP server in every relay's memory again (~10 MB RSS, docs/ARCHITECTURE.md "Memory and CPU").
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { findPackageRoot } from '../../src/package-root.js';

const DIST = path.join(findPackageRoot(path.dirname(new URL(import.meta.url).pathname))!, 'dist');
/** `import … from '…'`, `export … from '…'` and `import '…'` at the start of a line; not import(). */
const STATIC_IMPORT = /^(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]/gm;

/** Every module (dist-relative file, or package name) statically reachable from `entry`. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(path.join(DIST, file), 'utf8');
    for (const [, specifier] of source.matchAll(STATIC_IMPORT)) {
      if (specifier!.startsWith('.')) visit(path.join(path.dirname(file), specifier!));
      else seen.add(specifier!);
    }
  };
  visit(entry);
  return seen;
}

test('startup: the relay loads neither the bench nor the sinks until those commands run', () => {
  const loaded = staticClosure('cli/main.js');
  assert.ok(loaded.has('main/relay.js') && loaded.has('commander'), 'the closure follows the run command');
  // The bench's option checks need bench/payload.js (a constant, no imports); nothing else of it.
  const heavy = ['piscina', 'hdr-histogram-js', 'bench/bench-runs.js', 'bench/run-one.js', 'cli/sink-serve.js', 'relp/server.js', 'framing/framed-server.js'];
  const early = [...loaded].filter((m) => heavy.includes(m));
  assert.deepEqual(early, [], `statically imported at start: ${early.join(', ')}`);
});
