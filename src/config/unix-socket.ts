/**
 * The socket file of unix@ listeners: `--unix-mode` (its permissions) and `--unix-owner` (its user
 * and group), one parser each, and the owner's names turned into ids. The main thread looks the
 * names up when it reads the configuration, so --check-config and a reload refuse an unknown name
 * before anything binds; the ingest thread applies the ids after bind (src/ingest/unix-listener.ts).
 * Names are looked up through the native addon (getpwnam_r, every NSS source): node can only tell
 * its own user. A unix@ listener needs the addon anyway.
 */
import { RelayError } from '../errors.js';
import { loadNativeUdp } from '../native/addon.js';
import type { UnixSocketFile } from '../thread-protocol.js';

/** `--unix-owner` as typed: a user, a group, or both; each a name or a numeric id. */
export interface UnixOwnerName {
  user: string | undefined;
  group: string | undefined;
  /** As typed: `syslog:adm`, `:adm`, `0`. */
  text: string;
}

/** Octal with the leading 0, four digits: `0666`. The leading 0 is required, so a TOML number (decimal 438 for 0o666) is refused, not misread. */
const MODE = /^0[0-7]{3}$/;
/** A user or group name (POSIX portable characters; a trailing $ for Samba machine accounts), or a numeric id. */
const NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/;
/** The largest id chown takes: 2^32 - 2 (-1, 0xffffffff, means "unchanged"). */
const MAX_ID = 2 ** 32 - 2;

/** `--unix-mode 0660` -> 0o660; throws RelayError naming the option. */
export function parseUnixMode(text: string): number {
  if (!MODE.test(text)) {
    throw new RelayError(
      'ERR_BAD_OPTION',
      `--unix-mode ${JSON.stringify(text)}: expected an octal mode with a leading 0, like 0660 (in the TOML file, a string: "0660")`,
    );
  }
  return parseInt(text, 8);
}

/** 0o666 -> `0666`. */
export function formatUnixMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** `--unix-owner USER`, `USER:GROUP` or `:GROUP` (names or numeric ids); throws RelayError naming the option. */
export function parseUnixOwner(text: string): UnixOwnerName {
  const colon = text.indexOf(':');
  const user = colon < 0 ? text : text.slice(0, colon);
  const group = colon < 0 ? undefined : text.slice(colon + 1);
  const bad = (user !== '' && !NAME.test(user)) || (group !== undefined && !NAME.test(group)) || (user === '' && group === undefined);
  if (bad || [user, group].some((part) => part !== undefined && /^[0-9]+$/.test(part) && Number(part) > MAX_ID)) {
    throw new RelayError('ERR_BAD_OPTION', `--unix-owner ${JSON.stringify(text)}: expected USER, USER:GROUP or :GROUP (names or numeric ids)`);
  }
  return { user: user === '' ? undefined : user, group, text };
}

/**
 * The socket file settings unix@ listeners apply: the mode, and the owner's ids (-1: that one
 * unchanged). The owner is looked up whenever it is given and the addon loads (without the addon
 * there can be no unix@ listener); throws RelayError('ERR_BAD_OPTION') for a name with no user or group.
 */
export function unixSocketFile(mode: number, owner: UnixOwnerName | undefined): UnixSocketFile {
  const native = loadNativeUdp();
  if (owner === undefined || native === undefined) return { mode, owner: undefined };
  const id = (name: string | undefined, what: 'user' | 'group', lookup: (name: string) => number | null): number => {
    if (name === undefined) return -1;
    if (/^[0-9]+$/.test(name)) return Number(name);
    let found: number | null;
    try {
      found = lookup(name);
    } catch (error) {
      throw new RelayError(
        'ERR_BAD_OPTION',
        `--unix-owner ${JSON.stringify(owner.text)}: cannot look ${what} ${JSON.stringify(name)} up: ${(error as Error).message}`,
      );
    }
    if (found === null) throw new RelayError('ERR_BAD_OPTION', `--unix-owner ${JSON.stringify(owner.text)}: no ${what} ${JSON.stringify(name)} on this system`);
    return found;
  };
  return {
    mode,
    owner: { text: owner.text, uid: id(owner.user, 'user', (n) => native.unixUserId(n)), gid: id(owner.group, 'group', (n) => native.unixGroupId(n)) },
  };
}
