/**
 * The owners of a group's recently placed items, by item id: each item is placed once for the
 * group (./group.ts), and every member finds its owners here. Each set is kept as its words
 * (./members.ts) in one array, and tested in place: no set is made per item.
 */
import { Members, wordsFor } from './members.js';

/** Item ids remembered: members read the same items, so each is placed once while they are within this many items of each other (4096 missed at 100k/s: members drift further apart, and carbon_ch hashed every item four times). */
const CACHE_SIZE = 65_536;

/** See the module comment. */
export class OwnerCache {
  private readonly ids = new Float64Array(CACHE_SIZE).fill(-1);
  /** Words of one set of members. */
  private readonly words: number;
  /** The owners of the item in each slot: `words` words per slot. */
  private readonly owners: Uint32Array;

  constructor(members: number) {
    this.words = wordsFor(members);
    this.owners = new Uint32Array(CACHE_SIZE * this.words);
  }

  /** Whether the member at `position` owns item `id`: 1 or 0 when remembered, else -1. */
  owns(id: number, position: number): number {
    const slot = id % CACHE_SIZE;
    if (this.ids[slot] !== id) return -1;
    return Members.hasIn(this.owners, slot * this.words, position) ? 1 : 0;
  }

  /** The owners of item `id` when remembered. */
  ownersOf(id: number): Members | undefined {
    const slot = id % CACHE_SIZE;
    return this.ids[slot] === id ? Members.readFrom(this.owners, slot * this.words, this.words) : undefined;
  }

  /** Remembers that `owners` own item `id` (in place of the item that had its slot). */
  remember(id: number, owners: Members): void {
    const slot = id % CACHE_SIZE;
    owners.writeTo(this.owners, slot * this.words);
    this.ids[slot] = id;
  }

  /** Forgets every item (a new stretch may place the items past every cursor differently). */
  clear(): void {
    this.ids.fill(-1);
  }
}
