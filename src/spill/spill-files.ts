/**
 * The files of one spill directory (./segment-store.ts decides what goes in them and in what
 * order): their names, the replay position file, replacing a segment atomically, and the rule
 * that a directory has one owner per process.
 *
 * - `NNNNNNNNNNNN.seg`: a segment (12 decimal digits, increasing); its format is ./records.ts.
 * - `replay.pos`: "SEGMENT OFFSET\n", everything before which was delivered. Written to
 *   `replay.pos.tmp` and renamed, so a crash leaves the old or the new one, never a torn one.
 * - `*.tmp`: a file being written before its rename; one a crash left behind is ignored.
 */
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

const SEGMENT_NAME = /^(\d{12})\.seg$/;
const POSITION_FILE = 'replay.pos';

/** A place in a spill directory: a segment's number and a byte offset in it. */
export interface SpillPosition {
  seq: number;
  offset: number;
}

/** A segment file: its number and the bytes of whole records (and the magic) in it. */
export interface Segment {
  seq: number;
  size: number;
}

/** Directories with an open store in this process (resolved paths). */
const OPEN_DIRECTORIES = new Set<string>();

/** See the module comment. */
export class SpillFiles {
  private constructor(readonly dir: string) {}

  /**
   * Claims `dir` for this process (creating it if needed): refused while another claim on it is
   * not released (two stores would both append to the same segment and replay each other's
   * records out of order).
   */
  static async claim(dir: string): Promise<SpillFiles> {
    const key = path.resolve(dir);
    if (OPEN_DIRECTORIES.has(key)) throw new Error(`${dir} is already open in this process: a spill directory has one owner at a time`);
    OPEN_DIRECTORIES.add(key);
    try {
      await mkdir(dir, { recursive: true });
      return new SpillFiles(dir);
    } catch (error) {
      OPEN_DIRECTORIES.delete(key);
      throw error;
    }
  }

  /** Lets another claim `dir`. */
  release(): void {
    OPEN_DIRECTORIES.delete(path.resolve(this.dir));
  }

  /** The saved position and the segments at or after it, in order; segments wholly behind it are deleted. */
  async load(): Promise<{ position: SpillPosition; segments: Segment[] }> {
    const position = await this.readPosition();
    const segments: Segment[] = [];
    for (const name of (await readdir(this.dir)).sort()) {
      const match = SEGMENT_NAME.exec(name);
      if (!match) continue;
      const seq = Number(match[1]);
      if (seq < position.seq) await this.unlink(seq);
      else segments.push({ seq, size: (await stat(path.join(this.dir, name))).size });
    }
    return { position, segments };
  }

  /** Saves the replay position (atomically). */
  async savePosition(position: SpillPosition): Promise<void> {
    const file = path.join(this.dir, POSITION_FILE);
    await writeFile(`${file}.tmp`, `${position.seq} ${position.offset}\n`);
    await rename(`${file}.tmp`, file);
  }

  /**
   * Makes `content` segment `seq` (replacing it) and `position` the replay position, in the
   * order that leaves a crash between the two steps with records read twice, never skipped: the
   * old position must never point into the new file, so when it names `seq` it goes first.
   */
  async replaceSegment(seq: number, content: Buffer, position: SpillPosition, oldPosition: SpillPosition): Promise<void> {
    const temporary = `${this.segmentPath(seq)}.tmp`;
    await writeFile(temporary, content, { flush: true });
    if (oldPosition.seq === seq) {
      await this.savePosition(position);
      await rename(temporary, this.segmentPath(seq));
    } else {
      await rename(temporary, this.segmentPath(seq));
      await this.savePosition(position);
    }
  }

  /** Deletes segment `seq` (gone already is fine). */
  async unlink(seq: number): Promise<void> {
    await unlink(this.segmentPath(seq)).catch(() => {});
  }

  segmentPath(seq: number): string {
    return path.join(this.dir, `${String(seq).padStart(12, '0')}.seg`);
  }

  /** The replay position saved, or the start when there is none. */
  private async readPosition(): Promise<SpillPosition> {
    const text = await readFile(path.join(this.dir, POSITION_FILE), 'utf8').catch(() => '');
    const match = /^(\d+) (\d+)\n$/.exec(text);
    return match ? { seq: Number(match[1]), offset: Number(match[2]) } : { seq: 0, offset: 0 };
  }
}
