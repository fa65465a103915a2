/**
 * `relay route --test`: what the relay does with one line, told as text (pure). It runs the same
 * Router the egress thread runs, and places on group members as the groups do with every member
 * up, so what it prints is what would arrive.
 */
import type { RelayConfig } from '../config/config.js';
import type { GroupSpec } from '../group/group-spec.js';
import { keyOf, Placement } from '../group/placement.js';
import { groupSpec } from '../main/thread-options.js';
import type { Router } from './router.js';

/** What `line` becomes under `config`'s routes (`router`, undefined without rules): one text line per fact. */
export function explainLine(config: RelayConfig, router: Router | undefined, line: Uint8Array): string[] {
  const out: string[] = [];
  const targets: { name: string; payload: Uint8Array }[] = [];
  if (!router) {
    for (const name of targetNames(config)) targets.push({ name, payload: line });
  } else {
    const decision = router.decide(line);
    for (const i of decision.matched) out.push(`  matches ${router.spec.rules[i]!.where}`);
    for (const [t, name] of decision.targets.entries()) targets.push({ name, payload: decision.payloads ? decision.payloads[t]! : line });
    if (decision.outcome !== 'routed') out.push(`  dropped: ${decision.outcome}`);
  }
  for (const { name, payload } of targets) {
    const text = Buffer.from(payload).toString('latin1');
    const group = config.groups.find((g) => g.name === name);
    if (!group) {
      const to = config.destinations.filter((d) => !d.member && (d.name ?? d.endpoint.text) === name).map((d) => d.endpoint.text);
      out.push(`  ${text}  ->  ${to.join(' ')}`);
      continue;
    }
    const { spec, placement } = placementOf(group);
    const members = placement.owners(keyOf(payload, spec.key), placement.allMembers, 0).positions.map((p) => {
      const m = spec.members[p]!;
      return m.instance === undefined ? m.text : `${m.text}#${m.instance}`;
    });
    const how = group.mode === 'least-loaded' ? ' (least-loaded: whichever member has the least unconfirmed)' : '';
    out.push(`  ${text}  ->  group ${name}: ${members.join(' ')}${how}`);
  }
  return out;
}

/** Each group's placement, made once (a carbon_ch ring of 128 members is 12,800 MD5s). */
const placements = new WeakMap<RelayConfig['groups'][number], { spec: GroupSpec; placement: Placement }>();

function placementOf(group: RelayConfig['groups'][number]): { spec: GroupSpec; placement: Placement } {
  let made = placements.get(group);
  if (!made) {
    const spec = groupSpec(group);
    made = { spec, placement: new Placement(spec) };
    placements.set(group, made);
  }
  return made;
}

/** Every destination and group name, in configuration order (what gets a line without rules). */
function targetNames(config: RelayConfig): string[] {
  const names = config.destinations.filter((d) => !d.member).map((d) => d.name ?? d.endpoint.text);
  return [...new Set([...names, ...config.groups.map((g) => g.name)])];
}
