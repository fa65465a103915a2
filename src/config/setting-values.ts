/**
 * What is derived from the settings table (./settings.ts) for the code that reads values: the
 * keys, the values' type by camel-cased key (as commander names them), the defaults, and the
 * settings a running relay keeps until restart.
 */
import type { Setting } from './setting-kinds.js';
import { SETTINGS } from './settings.js';

type Row = (typeof SETTINGS)[number];

/** A setting's key. */
export type SettingKey = Row['key'];

/** `stall-timeout` -> `stallTimeout`, as commander names an option's value. */
type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** Every setting's value, by camel-cased key (`stallTimeout`), as the command line gives them. */
export type SettingValues = { [R in Row as CamelCase<R['key']>]: R['default'] };

/** The settings a running relay keeps until restart (the reload plan reports their changes as ignored). */
export type RestartOnlyKey = Extract<Row, { applied: 'restart'; scope: 'relay' | 'destination' }>['key'];

/** `stall-timeout` -> `stallTimeout`. */
export function camelCase<K extends string>(key: K): CamelCase<K> {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as CamelCase<K>;
}

/** The default of `key`. */
export function defaultOf<K extends SettingKey>(key: K): SettingValues[CamelCase<K>] {
  return (SETTINGS.find((s) => s.key === key) as Setting).default as SettingValues[CamelCase<K>];
}

/** The keys that apply only at restart and live in the relay's configuration, in table order. */
export function restartOnlyKeys(): RestartOnlyKey[] {
  return SETTINGS.filter((s) => s.applied === 'restart' && (s.scope === 'relay' || s.scope === 'destination')).map((s) => s.key as RestartOnlyKey);
}
