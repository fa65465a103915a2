/**
 * Destination groups in the configuration (README "Groups"): one reader for a group's table,
 * whether it comes from a `[[group]]` table of the TOML file or from `--group "name=… mode=…
 * members=…"` on the command line (parseGroupOption turns that text into the same table).
 * Members are address strings (`tcp@host:2003`, `tcp@host:2003#instance`) or tables with
 * `address`, `instance` and any key a `[[destination]]` table takes.
 */
import { RelayError } from '../errors.js';
import { optionWords } from './option-words.js';
import { ConsistentHash } from '../group/consistent-hash.js';
import { GROUP_KEYS, GROUP_MODES, type GroupKey, type GroupMode, isHashMode, MAX_GROUP_MEMBERS } from '../group/group-spec.js';

/** A group read from the configuration; its members' tables are read by the caller (as [[destination]] tables). */
export interface GroupTable<M> {
  name: string;
  mode: GroupMode;
  key: GroupKey;
  replication: number;
  dynamic: boolean;
  members: { member: M; instance: string | undefined }[];
  /** Where it was given (`relay.toml: group 2`, `--group 1`), for later errors about it. */
  where: string;
}

const GROUP_KEYS_ALLOWED = ['name', 'mode', 'key', 'replication', 'dynamic', 'members'];
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Reads one group's table. `where` prefixes errors (`relay.toml: group 2`); `readMember` reads a
 * member's table (its address and per-destination keys; `instance` is taken out first).
 */
export function readGroupTable<M>(
  table: Record<string, unknown>,
  where: string,
  readMember: (member: Record<string, unknown>, where: string) => M,
): GroupTable<M> {
  const fail = (reason: string): never => {
    throw new RelayError('ERR_CONFIG', `${where}: ${reason}`);
  };
  for (const key of Object.keys(table))
    if (!GROUP_KEYS_ALLOWED.includes(key)) fail(`unknown key ${JSON.stringify(key)}: a group has ${GROUP_KEYS_ALLOWED.join(', ')}`);
  const name = table.name;
  if (typeof name !== 'string' || !NAME.test(name)) fail('name: expected a name of letters, digits, "_", "." or "-", e.g. name = "carbon"');
  const mode = table.mode;
  if (typeof mode !== 'string' || !GROUP_MODES.includes(mode as GroupMode)) fail(`mode: expected one of ${GROUP_MODES.join(', ')}`);
  const key = table.key ?? 'first-field';
  if (typeof key !== 'string' || !GROUP_KEYS.includes(key as GroupKey)) fail(`key: expected one of ${GROUP_KEYS.join(', ')}`);
  const replication = table.replication ?? 1;
  if (typeof replication !== 'number' || !Number.isInteger(replication) || replication < 1) fail('replication: expected a whole number, 1 or more');
  const dynamic = table.dynamic ?? false;
  if (typeof dynamic !== 'boolean') fail('dynamic: expected true or false');
  const hashing = isHashMode(mode as GroupMode);
  if (!hashing && replication !== 1)
    fail(`replication: only the consistent hashes (carbon_ch, fnv1a_ch, jump_fnv1a_ch) replicate; ${mode} sends each message to one member`);
  if (!hashing && dynamic) fail(`dynamic: only for the consistent hashes; ${mode} always moves a down member's share`);
  const list = table.members;
  if (!Array.isArray(list) || list.length === 0) fail('members: expected a list of addresses, e.g. members = ["tcp@10.0.0.1:2003", "tcp@10.0.0.2:2003"]');
  if ((list as unknown[]).length > MAX_GROUP_MEMBERS) fail(`members: ${(list as unknown[]).length} members; a group has at most ${MAX_GROUP_MEMBERS}`);
  if ((replication as number) > (list as unknown[]).length) fail(`replication ${replication} is more than its ${(list as unknown[]).length} member(s)`);
  const members = (list as unknown[]).map((item, i) => readMemberItem(item, `${where}: member ${i + 1}`, readMember));
  const group: GroupTable<M> = {
    name: name as string,
    mode: mode as GroupMode,
    key: key as GroupKey,
    replication: replication as number,
    dynamic: dynamic as boolean,
    members,
    where,
  };
  return group;
}

/** Checks a hash group's members as carbon-c-relay would build the ring (distinct hosts or instances). */
export function checkHashMembers(group: GroupTable<unknown>, hostPort: (member: number) => { host: string; port: number }, where: string): void {
  if (!isHashMode(group.mode)) return;
  try {
    new ConsistentHash(
      group.mode,
      group.members.map((m, i) => ({ ...hostPort(i), instance: m.instance })),
    );
  } catch (error) {
    throw new RelayError('ERR_CONFIG', `${where}: ${(error as Error).message}`, { cause: error });
  }
}

function readMemberItem<M>(
  item: unknown,
  where: string,
  readMember: (member: Record<string, unknown>, where: string) => M,
): { member: M; instance: string | undefined } {
  let table: Record<string, unknown>;
  if (typeof item === 'string') {
    const hash = item.lastIndexOf('#');
    table = hash < 0 ? { address: item } : { address: item.slice(0, hash), instance: item.slice(hash + 1) };
  } else if (typeof item === 'object' && item !== null && !Array.isArray(item)) table = { ...(item as Record<string, unknown>) };
  else throw new RelayError('ERR_CONFIG', `${where}: expected an address string or a table with address = "tcp@HOST:PORT"`);
  const instance = table.instance;
  delete table.instance;
  if (instance !== undefined && (typeof instance !== 'string' || instance === '' || /\s/.test(instance))) {
    throw new RelayError('ERR_CONFIG', `${where}: instance: expected a name without spaces`);
  }
  return { member: readMember(table, where), instance: instance === undefined ? undefined : canonicalInstance(instance as string) };
}

/** An instance as carbon-c-relay keeps it: one made of digits only is read as a number (`007` is `7`). */
function canonicalInstance(instance: string): string {
  return /^[0-9]+$/.test(instance) ? String(BigInt(instance)) : instance;
}

/**
 * `--group "name=carbon mode=carbon_ch replication=2 members=tcp@a:2003#a,tcp@b:2003#b"`: the
 * keys of a [[group]] table as option words (./option-words.ts); members comma-separated.
 * Returns that table.
 */
export function parseGroupOption(text: string): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (const [key, value] of optionWords('--group', text, 'name=carbon mode=carbon_ch members=tcp@10.0.0.1:2003,tcp@10.0.0.2:2003')) {
    if (key in table) throw new RelayError('ERR_BAD_OPTION', `--group "${text}": ${key} is given twice`);
    if (value === true) table[key] = key === 'dynamic' ? true : value;
    else if (key === 'members') table.members = value.split(',').filter((m) => m !== '');
    else if (key === 'replication') table.replication = /^[0-9]+$/.test(value) ? Number(value) : value;
    else if (key === 'dynamic') table.dynamic = value === 'true' ? true : value === 'false' ? false : value;
    else table[key] = value;
  }
  return table;
}
