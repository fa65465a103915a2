/**
 * One destination's spill directory: append-only segment files of checksummed records, replayed
 * oldest first, surviving a restart.
 *
 * Files, names and the replay position: ./spill-files.ts; records: ./records.ts. The position
 * is saved after each confirmed batch, so a restart resumes there and nothing confirmed is
 * replayed twice.
 *
 * At a finish, writes a connection had out unconfirmed may be older than what was spilled after
 * them (a RELP window, pinned while its receiver was down): requeue() puts them back in their
 * place, before everything not yet delivered, by rewriting the first segment still to be read.
 *
 * A record whose length is impossible, whose checksum does not match, or that is cut short ends
 * its segment: the rest of that segment is counted (onCorrupt) and skipped, and replay goes on
 * with the next segment. A failed append (disk full, directory gone) returns false: the caller
 * counts and drops those messages; the segment is closed at its last good length.
 *
 * Used from one thread (egress). Every file operation goes through fs.promises (libuv's thread
 * pool, so the event loop never waits on the disk) and operations run one at a time, in call
 * order, so a read issued after an append sees it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { MAGIC, encodeRecords, readRecordBlock } from './records.js';
import { type Segment, SpillFiles, type SpillPosition } from './spill-files.js';

export interface SpillStoreOptions {
  /** Bytes the directory may hold (segments, headers included). */
  maxBytes: number;
  /** A new segment is started once the current one would pass this size. */
  segmentBytes: number;
  /** Longest payload a record may declare; anything longer is corruption. */
  maxRecordBytes: number;
  /** Told about damaged data that was skipped: which segment, how many bytes, why. */
  onCorrupt: (segment: string, bytes: number, why: string) => void;
}

/** Records read for replay; hand it back to confirm() once they are delivered. */
export interface SpillBatch {
  payloads: Buffer[];
  /** Position just past the last record of the batch. */
  end: SpillPosition;
}

/** A destination's spill directory (see the module comment for the formats). */
export class SpillStore {
  private readonly segments: Segment[] = [];
  /** Next record to read: in memory, ahead of the confirmed position while batches are in flight. */
  private readPosition: SpillPosition = { seq: 0, offset: 0 };
  /** Everything before it was delivered: what replay.pos says. */
  private confirmedPosition: SpillPosition = { seq: 0, offset: 0 };
  /** Segment that appends go to, with its open handle; undefined until the first append of a run. */
  private active: { segment: Segment; file: FileHandle } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private appendsInFlight = 0;
  /** Operations queued or running. */
  private operations = 0;
  /** Highest segment number ever used here: new segments always sort after every older one. */
  private lastSeq = 0;

  private constructor(
    private readonly files: SpillFiles,
    private readonly options: SpillStoreOptions,
  ) {}

  /**
   * Opens (creating if needed) `dir` and finds what a previous run left to replay. A directory has
   * one owner at a time: a second open in this process before close() is refused.
   */
  static async open(dir: string, options: SpillStoreOptions): Promise<SpillStore> {
    const files = await SpillFiles.claim(dir);
    try {
      const { position, segments } = await files.load();
      const store = new SpillStore(files, options);
      store.segments.push(...segments);
      store.lastSeq = Math.max(position.seq, segments.at(-1)?.seq ?? 0);
      store.readPosition = segments[0]?.seq === position.seq ? position : { seq: segments[0]?.seq ?? 0, offset: 0 };
      store.confirmedPosition = { ...store.readPosition };
      return store;
    } catch (error) {
      files.release();
      throw error;
    }
  }

  get dir(): string {
    return this.files.dir;
  }

  /** Bytes on disk. */
  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0);
  }

  /** True while anything appended (or being appended) has not been read for replay yet. */
  get hasBacklog(): boolean {
    if (this.appendsInFlight > 0) return true;
    const { seq, offset } = this.readPosition;
    return this.segments.some((s) => (s.seq > seq && s.size > MAGIC.length) || (s.seq === seq && s.size > Math.max(offset, MAGIC.length)));
  }

  /**
   * Appends one record per payload, after every earlier operation. The payloads are copied
   * before this returns, so the caller may reuse their memory at once. Resolves false, keeping
   * nothing of this call, when the directory would pass maxBytes or the disk fails.
   */
  append(payloads: readonly Uint8Array[]): Promise<boolean> {
    const records = encodeRecords(payloads);
    this.appendsInFlight++;
    return this.serially(async () => {
      try {
        return await this.appendRecords(records);
      } finally {
        this.appendsInFlight--;
      }
    });
  }

  /** Reads the next records in order, at most about `maxBytes` (at least one record); undefined when all is read. */
  readBatch(maxBytes: number): Promise<SpillBatch | undefined> {
    return this.serially(() => this.readRecords(maxBytes));
  }

  /** Marks a batch delivered: persists the position and deletes segments wholly behind it. */
  confirm(batch: SpillBatch): Promise<void> {
    return this.serially(async () => {
      await this.savePosition(batch.end);
      while (this.segments.length > 0) {
        const first = this.segments[0]!;
        const done = first.seq < batch.end.seq || (first.seq === batch.end.seq && batch.end.offset >= first.size);
        if (!done) break;
        if (first === this.active?.segment) {
          // Wholly delivered: the next append starts a new segment (appends queue behind us).
          await this.active.file.close();
          this.active = undefined;
        }
        await this.remove(first);
      }
    });
  }

  /**
   * Puts one record per payload back before everything from `from` on (a position at or past the
   * confirmed one; by default the confirmed one when this runs), after every earlier operation: the next replay, in this run or the next,
   * reads them first and then what follows `from`. Whatever lies between the confirmed position
   * and `from` is let go (the caller holds it: it is among `payloads`). The first segment at or
   * after `from` is rewritten (its records before `from` dropped, these put in front) and
   * replaces it by rename; appends after this start a new segment. Resolves false, nothing
   * changed, when the directory would pass maxBytes or the disk fails.
   */
  requeue(payloads: readonly Uint8Array[], from?: SpillPosition): Promise<boolean> {
    const records = encodeRecords(payloads);
    return this.serially(async () => {
      try {
        return await this.rewriteFront(records, from ?? this.confirmedPosition);
      } catch {
        return false;
      }
    });
  }

  /** Closes the file being appended to, after every pending operation; then the directory may be opened again. */
  close(): Promise<void> {
    return this.serially(async () => {
      try {
        await this.active?.file.close();
      } finally {
        this.active = undefined;
        this.files.release();
      }
    });
  }

  /** True while an operation is queued or running. */
  get busy(): boolean {
    return this.operations > 0;
  }

  /** Resolves once every operation issued so far has finished. */
  async whenIdle(): Promise<void> {
    await this.queue;
  }

  private serially<T>(operation: () => Promise<T>): Promise<T> {
    this.operations++;
    const next = this.queue.then(operation).finally(() => this.operations--);
    this.queue = next.catch(() => {});
    return next;
  }

  private async appendRecords(records: Buffer): Promise<boolean> {
    const startsSegment = !this.active || this.active.segment.size + records.length > this.options.segmentBytes;
    if (this.bytes + records.length + (startsSegment ? MAGIC.length : 0) > this.options.maxBytes) return false;
    let written: Segment | undefined;
    try {
      if (startsSegment) {
        await this.active?.file.close();
        this.active = undefined;
        const seq = ++this.lastSeq;
        const file = await open(this.files.segmentPath(seq), 'wx');
        const segment = { seq, size: 0 };
        this.active = { segment, file };
        this.segments.push(segment);
        if (this.segments.length === 1) this.readPosition = { seq, offset: 0 };
        await file.write(MAGIC, 0, MAGIC.length, 0);
        segment.size = MAGIC.length;
      }
      written = this.active!.segment;
      await this.active!.file.write(records, 0, records.length, written.size);
      written.size += records.length;
      return true;
    } catch {
      // Keep the segment at its last good size (a partial record would read as damage) and
      // start a fresh one next time.
      await this.active?.file.truncate(this.active.segment.size).catch(() => {});
      await this.active?.file.close().catch(() => {});
      this.active = undefined;
      return false;
    }
  }

  private async rewriteFront(records: Buffer, from: SpillPosition): Promise<boolean> {
    let target = this.segments.find((x) => x.seq >= from.seq);
    const restFrom = target?.seq === from.seq ? Math.max(from.offset, MAGIC.length) : MAGIC.length;
    const rest = Buffer.alloc(target ? Math.max(0, target.size - restFrom) : 0);
    const kept = this.segments.filter((x) => target && x.seq > target.seq).reduce((sum, x) => sum + x.size, 0);
    if (kept + MAGIC.length + records.length + rest.length > this.options.maxBytes) return false;
    await this.active?.file.close();
    this.active = undefined;
    if (!target) {
      target = { seq: ++this.lastSeq, size: 0 };
      this.segments.push(target);
    }
    if (rest.length > 0) {
      const file = await open(this.files.segmentPath(target.seq), 'r');
      await file.read(rest, 0, rest.length, restFrom).finally(() => file.close());
    }
    const start = { seq: target.seq, offset: 0 };
    await this.files.replaceSegment(target.seq, Buffer.concat([MAGIC, records, rest]), start, this.confirmedPosition);
    this.confirmedPosition = { ...start };
    target.size = MAGIC.length + records.length + rest.length;
    for (const behind of this.segments.filter((x) => x.seq < start.seq)) await this.remove(behind);
    this.readPosition = { ...start };
    return true;
  }

  private async savePosition(position: SpillPosition): Promise<void> {
    await this.files.savePosition(position);
    this.confirmedPosition = { ...position };
  }

  private async readRecords(maxBytes: number): Promise<SpillBatch | undefined> {
    for (;;) {
      const index = this.segments.findIndex((s) => s.seq >= this.readPosition.seq);
      if (index === -1) return undefined;
      const segment = this.segments[index]!;
      if (segment.seq !== this.readPosition.seq) this.readPosition = { seq: segment.seq, offset: 0 };
      let file: FileHandle;
      try {
        file = await open(this.files.segmentPath(segment.seq), 'r');
      } catch (error) {
        // Gone or unreadable (removed under us, say): what it held is lost; go on with the next.
        await this.skipDamaged(segment, this.readPosition.offset, `unreadable: ${(error as Error).message}`);
        continue;
      }
      try {
        if (this.readPosition.offset === 0) {
          const magic = Buffer.alloc(MAGIC.length);
          const { bytesRead } = await file.read(magic, 0, MAGIC.length, 0);
          if (segment.size < MAGIC.length || bytesRead < MAGIC.length || !magic.equals(MAGIC)) {
            await this.skipDamaged(segment, 0, 'not a spill segment (bad magic)');
            continue;
          }
          this.readPosition.offset = MAGIC.length;
        }
        const batch = await this.readFrom(file, segment, maxBytes);
        if (batch) return batch;
        if (segment === this.active?.segment || segment === this.segments.at(-1)) return undefined;
        this.readPosition = { seq: segment.seq + 1, offset: 0 };
      } finally {
        await file.close();
      }
    }
  }

  /** Records from the read position of `segment`; undefined at its end or when the rest was damaged. */
  private async readFrom(file: FileHandle, segment: Segment, maxBytes: number): Promise<SpillBatch | undefined> {
    const start = this.readPosition.offset;
    const available = segment.size - start;
    if (available <= 0) return undefined;
    const { payloads, bytes, damage } = await readRecordBlock(file, start, available, maxBytes, this.options.maxRecordBytes);
    if (damage !== undefined) await this.skipDamaged(segment, start + bytes, damage);
    if (payloads.length === 0) return undefined;
    if (this.readPosition.seq === segment.seq && this.readPosition.offset === start) this.readPosition.offset = start + bytes;
    return { payloads, end: { seq: segment.seq, offset: start + bytes } };
  }

  /** Counts the rest of `segment` from `offset` as damaged and moves reading past it. */
  private async skipDamaged(segment: Segment, offset: number, why: string): Promise<void> {
    this.options.onCorrupt(this.files.segmentPath(segment.seq), Math.max(0, segment.size - offset), why);
    // Records before the damage stay readable until this batch is confirmed; nothing after it is.
    segment.size = offset;
    this.readPosition = { seq: segment.seq + 1, offset: 0 };
  }

  private async remove(segment: Segment): Promise<void> {
    await this.files.unlink(segment.seq);
    this.segments.splice(this.segments.indexOf(segment), 1);
  }
}
