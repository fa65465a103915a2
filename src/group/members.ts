/**
 * A set of a group's members by their position in its member list (at most MAX_GROUP_MEMBERS):
 * who counts as up, who owns an item, who holds a copy. Bits in 32-bit words, one word per 32
 * members; every set of one group has the same number of words. A set never changes once made:
 * `with`, `and` and the others return a new one (they run when members come and go, not per item;
 * the per-item path reads owners from the words a group remembers, `hasIn`).
 */

/** Words for a set over `members` members. */
export function wordsFor(members: number): number {
  return Math.max(1, Math.ceil(members / 32));
}

/** See the module comment. */
export class Members {
  private constructor(private readonly words: Uint32Array) {}

  /** No member of a group of `members`. */
  static none(members: number): Members {
    return new Members(new Uint32Array(wordsFor(members)));
  }

  /** Every member of a group of `members`. */
  static all(members: number): Members {
    const words = new Uint32Array(wordsFor(members));
    for (let p = 0; p < members; p++) words[p >>> 5]! |= 1 << (p & 31);
    return new Members(words);
  }

  /** The members at `positions` of a group of `members`. */
  static of(members: number, positions: Iterable<number>): Members {
    const words = new Uint32Array(wordsFor(members));
    for (const p of positions) words[p >>> 5]! |= 1 << (p & 31);
    return new Members(words);
  }

  /** The set stored at `offset` of `words` (by writeTo). */
  static readFrom(words: Uint32Array, offset: number, count: number): Members {
    return new Members(words.slice(offset, offset + count));
  }

  /** True when the set stored at `offset` of `words` holds `position` (the per-item check: no set made). */
  static hasIn(words: Uint32Array, offset: number, position: number): boolean {
    return ((words[offset + (position >>> 5)]! >>> (position & 31)) & 1) === 1;
  }

  /** Stores the set at `offset` of `words` (as many words as it has). */
  writeTo(words: Uint32Array, offset: number): void {
    words.set(this.words, offset);
  }

  has(position: number): boolean {
    return Members.hasIn(this.words, 0, position);
  }

  with(position: number): Members {
    const words = this.words.slice();
    words[position >>> 5]! |= 1 << (position & 31);
    return new Members(words);
  }

  without(position: number): Members {
    const words = this.words.slice();
    words[position >>> 5]! &= ~(1 << (position & 31));
    return new Members(words);
  }

  or(other: Members): Members {
    return new Members(this.words.map((w, i) => w | other.words[i]!));
  }

  /** The members of this set that are not in `other`. */
  minus(other: Members): Members {
    return new Members(this.words.map((w, i) => w & ~other.words[i]!));
  }

  equals(other: Members): boolean {
    return this.words.every((w, i) => w === other.words[i]);
  }

  get isEmpty(): boolean {
    return this.words.every((w) => w === 0);
  }

  get size(): number {
    let n = 0;
    for (const w of this.words) for (let v = w; v !== 0; v &= v - 1) n++;
    return n;
  }

  /** The lowest position in the set, or -1 when it is empty. */
  get lowest(): number {
    for (let i = 0; i < this.words.length; i++) {
      const w = this.words[i]!;
      if (w !== 0) return i * 32 + (31 - Math.clz32(w & -w));
    }
    return -1;
  }

  /** Its positions, lowest first. */
  get positions(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.words.length; i++) for (let b = 0; b < 32; b++) if ((this.words[i]! >>> b) & 1) out.push(i * 32 + b);
    return out;
  }

  /** Its positions, for logs and test messages. */
  toString(): string {
    return `{${this.positions.join(',')}}`;
  }
}
