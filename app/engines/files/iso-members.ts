/**
 * Files inside ISO images in the served folders (issue 18): `isos/ubuntu.iso/casper/vmlinuz` is the
 * member `casper/vmlinuz` of `isos/ubuntu.iso`. confine.ts finds the image on disk (same confinement
 * as any file) and asks here for the member; the engines then read the member's extents straight out
 * of the image. Nothing is extracted or written; the image is opened read-only.
 *
 * Why a cache: a boot reads the same few members many times (iPXE sanboot and live roots read by
 * thousands of Range requests), and parsing an image's descriptors and directories per request would
 * cost more than serving the bytes. Images stay open (one read-only handle each, for directory
 * lookups and HTTP bodies; TFTP's FileCache opens its own) keyed by dev+ino+size+mtime, so a rewritten image is
 * reopened; at most `maxImages` are kept (least recently used closed first, never under a lookup in
 * flight), each with up to `maxLookups` lookups remembered, refusals included. A file that is not an
 * image, or an image that does not read, is remembered too, so a hostile or broken file costs one parse.
 *
 * Lookup inside the image (iso-lookup.ts) follows the reader's rules (docs/iso-reader.md:
 * case-insensitive, exact match first, symlinks followed with `..` stopping at the image root); a
 * symlink that leads into a hidden name is refused like one on disk.
 *
 * Whole resolutions are remembered too (`recall`/`remember`, at most RECENT_MS): a client reading a
 * live root by thousands of Range requests costs at most one stat of the image per RECHECK_MS (shared
 * by the requests meanwhile) instead of the realpath walk of every prefix per request (bench/).
 * The stat catches a rewritten image within RECHECK_MS; a swapped folder or symlink in the path is seen once
 * the entry is older than RECENT_MS (one request then resolves anew while the others go on with the
 * entry, so 50 clients do not all walk the path at the same moment). The HTTP data path borrows the
 * image's open descriptor (`borrow`) instead of opening and closing the image per Range request.
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../../shared/runtime.js';
import { silentLogger } from '../../shared/runtime.js';
import { IsoError, openIso, type IsoErrorCode, type IsoImage, type IsoSource } from '../iso/index.js';
import type { ConfinedFile, Refused } from './confine.js';
import { hasSignature, locate, type MemberLookup } from './iso-lookup.js';

export type { IsoMember, MemberLookup, MemberRefusal } from './iso-lookup.js';

/** The identity of one version of the image file (fs.Stats has these). */
export interface ImageIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface IsoMembersOptions {
  /** Images kept open (default 8). */
  readonly maxImages?: number;
  /** Lookups remembered per image (default 4096). */
  readonly maxLookups?: number;
  readonly logger?: Logger;
  /** Milliseconds now (tests); default Date.now. */
  readonly now?: () => number;
}

/** How long a whole resolution through an image is reused. */
export const RECENT_MS = 1000;
/** How long one stat of the image vouches for it (requests in between share it). */
export const RECHECK_MS = 10;
const MAX_RECENT = 4096;

interface Recent {
  readonly file: ConfinedFile;
  readonly at: number;
  refreshing: boolean;
  /** When a stat last found the image unchanged, and the stat in flight. */
  checked: number;
  checking?: Promise<boolean> | undefined;
}

type ImageState =
  | { readonly kind: 'image'; readonly iso: IsoImage; readonly handle: FileHandle }
  | {
      readonly kind: 'none';
      readonly refusal: 'not-an-image' | 'bad-image';
      readonly reason: string;
      readonly code?: IsoErrorCode;
    };

interface Entry {
  readonly key: string;
  readonly path: string;
  readonly state: Promise<ImageState>;
  readonly lookups: Map<string, Promise<MemberLookup>>;
  users: number;
  evicted: boolean;
  closed: boolean;
  /** The state once `state` has settled (borrow() is synchronous). */
  settled?: ImageState;
}

export class IsoMembers {
  private readonly entries = new Map<string, Entry>();
  private readonly byPath = new Map<string, Entry>();
  private readonly maxImages: number;
  private readonly maxLookups: number;
  private readonly log: Logger;
  private closing = false;
  private stats = { opened: 0, badImages: 0, lookups: 0 };
  private readonly recent = new Map<string, Recent>();
  private readonly resolving = new Map<string, Promise<ConfinedFile | Refused>>();
  private readonly now: () => number;

  constructor(options: IsoMembersOptions = {}) {
    this.maxImages = Math.max(1, options.maxImages ?? 8);
    this.maxLookups = Math.max(16, options.maxLookups ?? 4096);
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  /**
   * A resolution `remember`ed under `key` less than RECENT_MS ago whose image is still the same file
   * version (one stat); undefined otherwise.
   */
  async recall(key: string): Promise<ConfinedFile | undefined> {
    const hit = this.recent.get(key);
    if (!hit) return undefined;
    const age = this.now() - hit.at;
    if (age >= 2 * RECENT_MS) {
      this.recent.delete(key); // its refresh did not come back (the name is refused now)
      return undefined;
    }
    if (age >= RECENT_MS && !hit.refreshing) {
      hit.refreshing = true; // this caller resolves anew and remember()s; the others go on meanwhile
      return undefined;
    }
    if (this.now() - hit.checked < RECHECK_MS) return hit.file;
    if (!hit.checking) {
      const was = hit.file.info;
      hit.checking = stat(hit.file.path).then(
        (st) =>
          st.isFile() &&
          st.dev === was.dev &&
          st.ino === was.ino &&
          st.size === was.size &&
          st.mtimeMs === was.mtimeMs,
        () => false,
      );
      void hit.checking.then((same) => {
        hit.checking = undefined;
        if (same) hit.checked = this.now();
        else if (this.recent.get(key) === hit) this.recent.delete(key);
      });
    }
    return (await hit.checking) ? hit.file : undefined;
  }

  /** `resolve()` for `key`, shared by the callers that ask while it is in flight. */
  once(key: string, resolve: () => Promise<ConfinedFile | Refused>): Promise<ConfinedFile | Refused> {
    let pending = this.resolving.get(key);
    if (!pending) {
      pending = resolve().finally(() => this.resolving.delete(key));
      this.resolving.set(key, pending);
    }
    return pending;
  }

  forget(key: string): void {
    this.recent.delete(key);
  }

  remember(key: string, file: ConfinedFile): void {
    if (this.recent.size >= MAX_RECENT) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
    this.recent.delete(key);
    const now = this.now();
    this.recent.set(key, { file, at: now, refreshing: false, checked: now });
  }

  /** Images open now, images opened so far, images that did not read, lookups done (not remembered). */
  counters(): { open: number; opened: number; badImages: number; lookups: number } {
    return { open: this.entries.size, ...this.stats };
  }

  /** The member `rest` (components already confined by splitName) of the image at `path`. */
  async find(path: string, id: ImageIdentity, rest: readonly string[]): Promise<MemberLookup> {
    const entry = this.entry(path, id);
    entry.users++;
    try {
      const state = await entry.state;
      if (state.kind === 'none')
        return {
          ok: false,
          refusal: state.refusal,
          reason: state.reason,
          ...(state.code ? { code: state.code } : {}),
        };
      const key = rest.join('/');
      let found = entry.lookups.get(key);
      if (found) {
        // Most recently used last, so the oldest lookup is the one forgotten.
        entry.lookups.delete(key);
      } else {
        this.stats.lookups++;
        found = locate(state.iso, rest, `${id.size}:${id.mtimeMs}`);
        if (entry.lookups.size >= this.maxLookups) {
          const oldest = entry.lookups.keys().next();
          if (!oldest.done) entry.lookups.delete(oldest.value);
        }
      }
      entry.lookups.set(key, found);
      return await found;
    } finally {
      entry.users--;
      if (entry.evicted) this.closeEntry(entry);
    }
  }

  /**
   * The open descriptor of the image version `id` at `path`, for reading a member's data; the image
   * stays open until `release` (called once, after the last read has completed). undefined when the
   * image is not open now (the caller opens the file itself).
   */
  borrow(id: ImageIdentity): { fd: number; release(): void } | undefined {
    const entry = this.entries.get(`${id.dev}:${id.ino}:${id.size}:${id.mtimeMs}`);
    const state = entry?.settled;
    if (!entry || entry.closed || entry.evicted || state?.kind !== 'image') return undefined;
    entry.users++;
    let released = false;
    return {
      fd: state.handle.fd,
      release: () => {
        if (released) return;
        released = true;
        entry.users--;
        if (entry.evicted) this.closeEntry(entry);
      },
    };
  }

  /** Closes every image (the engine stops); lookups in flight finish first, later ones open anew. */
  async close(): Promise<void> {
    this.closing = true;
    this.recent.clear();
    const all = [...this.entries.values()];
    this.entries.clear();
    this.byPath.clear();
    for (const e of all) {
      e.evicted = true;
      this.closeEntry(e);
    }
    await Promise.all(all.map((e) => e.state.then(() => undefined)));
    this.closing = false;
  }

  private entry(path: string, id: ImageIdentity): Entry {
    const key = `${id.dev}:${id.ino}:${id.size}:${id.mtimeMs}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    // The same path with another identity: the image was rewritten, the old version goes now.
    const stale = this.byPath.get(path);
    if (stale) this.evict(stale);
    const entry: Entry = {
      key,
      path,
      state: this.openImage(path, id),
      lookups: new Map(),
      users: 0,
      evicted: this.closing,
      closed: false,
    };
    void entry.state.then((s) => (entry.settled = s));
    if (!this.closing) {
      this.entries.set(key, entry);
      this.byPath.set(path, entry);
      while (this.entries.size > this.maxImages) {
        const oldest = this.entries.values().next();
        if (oldest.done) break;
        this.evict(oldest.value);
      }
    }
    return entry;
  }

  private evict(e: Entry): void {
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    if (this.byPath.get(e.path) === e) this.byPath.delete(e.path);
    e.evicted = true;
    this.closeEntry(e);
  }

  private closeEntry(e: Entry): void {
    if (e.users > 0 || e.closed) return;
    e.closed = true;
    void e.state.then((s) => (s.kind === 'image' ? s.handle.close().catch(() => undefined) : undefined));
  }

  private async openImage(path: string, id: ImageIdentity): Promise<ImageState> {
    let handle: FileHandle;
    try {
      // Read-only; O_NONBLOCK so a FIFO swapped in after confine.ts's stat cannot block a thread.
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      return this.bad('io', `cannot open the image (${String(error)})`, path);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.ino !== id.ino || st.dev !== id.dev || st.size !== id.size) {
        await handle.close();
        return { kind: 'none', refusal: 'not-an-image', reason: 'the file changed while it was opened' };
      }
      const src: IsoSource = {
        size: id.size,
        async read(offset, length) {
          const buf = new Uint8Array(length);
          let done = 0;
          while (done < length) {
            const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
            if (bytesRead === 0) break;
            done += bytesRead;
          }
          return done === length ? buf : buf.subarray(0, done);
        },
      };
      if (!(await hasSignature(src))) {
        await handle.close();
        return { kind: 'none', refusal: 'not-an-image', reason: 'not an ISO 9660 or UDF image' };
      }
      const iso = await openIso(src);
      this.stats.opened++;
      return { kind: 'image', iso, handle };
    } catch (error) {
      await handle.close().catch(() => undefined);
      const code = error instanceof IsoError ? error.code : 'io';
      return this.bad(code, error instanceof Error ? error.message : String(error), path);
    }
  }

  private bad(code: IsoErrorCode, message: string, path?: string): ImageState {
    this.stats.badImages++;
    // Once per image version: the refusal is remembered, later requests do not parse again.
    this.log.warn('ISO image cannot be read; its files are not served', {
      image: path,
      code,
      error: message,
    });
    return { kind: 'none', refusal: 'bad-image', reason: `ISO image cannot be read (${code})`, code };
  }
}
