/**
 * The netboot folder as the page shows it: its listing, per-entry settings and the import of dropped
 * files (uploaded first in the browser UI, by path in Electron). Errors and notices go to the session
 * store's banners.
 */
import type { LibraryEvent, LibraryListing } from '../../app/shared/ipc-contract.js';
import { pxe } from './client.js';
import { NOT_BOOTABLE_NAME, fmtBytes } from './format.js';
import type { SessionStore } from './session-store.svelte.js';
import { uploadFile } from './upload.js';

export const EMPTY_LISTING: LibraryListing = { exists: false, files: [], entries: [], perMac: {} };

/**
 * A file on its way into the folder: uploaded by the browser UI first (phase 'upload'), then copied or
 * linked by main (`library-import` events). Bytes of total and the time since it began give rate and ETA.
 */
export interface TransferProgress {
  phase: 'upload' | 'copy' | 'link';
  name: string;
  index: number;
  count: number;
  bytes: number;
  total: number;
  elapsedMs: number;
}

export class LibraryStore {
  root = $state('');
  listing = $state.raw<LibraryListing>(EMPTY_LISTING);
  transfer = $state<TransferProgress | undefined>();
  /** Link instead of copy (Electron only: the file is on this computer; same disk only). */
  link = $state(false);
  private changedTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stops the browser upload under way (the copy in main is stopped through the contract). */
  private uploadAbort: AbortController | undefined;

  /** Library files that are not the main file of an entry nor a paired initrd: they cannot boot. */
  strayFiles = $derived(
    this.listing.files.filter(
      (f) =>
        !this.listing.entries.some((e) => e.path === f.name || e.initrd === f.name) &&
        !/\.ipxe$/.test(f.name),
    ),
  );
  /** The menu's default: the user's, else the first entry (the library lists a technician's choice first). */
  defaultId = $derived(
    this.listing.defaultEntry ?? this.listing.entries.find((e) => e.secondary !== 'hidden')?.id,
  );

  private readonly session: SessionStore;

  constructor(session: SessionStore) {
    this.session = session;
  }

  async setRoot(root: string): Promise<void> {
    this.root = root;
    await this.refresh();
  }

  async refresh(): Promise<void> {
    const root = this.root;
    if (!root) {
      this.listing = EMPTY_LISTING;
      return;
    }
    const r = await pxe.invoke('library.list', { root });
    if (root !== this.root) return; // another folder was chosen meanwhile
    if (r.ok) this.listing = r.value;
    else {
      this.listing = EMPTY_LISTING;
      this.session.error = r.message;
    }
  }

  /** Library events: copy progress of an import into this folder, and changes found on their own. */
  onEvent(e: LibraryEvent): void {
    if (e.type === 'library-import') {
      const p = e.progress;
      if (p.root !== this.root) return;
      this.transfer =
        p.state === 'copying'
          ? {
              phase: p.link ? 'link' : 'copy',
              name: p.name,
              index: p.index,
              count: p.count,
              bytes: p.bytes,
              total: p.total,
              elapsedMs: p.elapsedMs,
            }
          : undefined;
      return;
    }
    // An ISO analysis finished: list the folder again (once for a burst of them).
    const root = this.root.replace(/[\\/]+$/, '');
    if (!root || !(e.path.startsWith(`${root}/`) || e.path.startsWith(`${root}\\`))) return;
    clearTimeout(this.changedTimer);
    this.changedTimer = setTimeout(() => void this.refresh(), 200);
  }

  async updateEntry(
    entry: string,
    change: { title?: string; cmdline?: string; makeDefault?: boolean; bootEntry?: string },
  ): Promise<void> {
    const r = await pxe.invoke('library.update', { root: this.root, entry, ...change });
    if (!r.ok) {
      this.session.error = r.message;
      return;
    }
    this.session.error = '';
    this.listing = r.value;
    const what = change.bootEntry !== undefined ? `the boot entry "${change.bootEntry}" of ${entry}` : entry;
    this.session.notice = change.makeDefault
      ? `${entry} is now the default entry of the boot menu.`
      : `Saved the settings of ${what}${this.session.running ? ': the next boot menu uses them' : ''}.`;
  }

  async pickFolder(): Promise<void> {
    const r = await pxe.invoke('dialog.pickFolder', null);
    if (r.ok && r.value) await this.setRoot(r.value);
    else if (!r.ok) this.session.notice = r.message;
  }

  /** Why these files cannot be imported before a byte is sent, or undefined. */
  private refuse(files: File[]): string | undefined {
    if (!this.root) return 'Choose the netboot folder first, then drop the files again.';
    const bad = files.filter((f) => NOT_BOOTABLE_NAME.test(f.name) || f.size === 0);
    if (bad.length)
      return `Cannot boot ${bad.map((f) => f.name).join(', ')}: drop kernels, initrds, EFI programs, ISOs, WIMs, disk images or iPXE scripts.`;
    const dup = files.filter((f) => this.listing.files.some((l) => l.name === f.name));
    if (dup.length)
      return `${dup.map((f) => f.name).join(', ')} ${dup.length > 1 ? 'are' : 'is'} already in the library: nothing copied (rename the file to add another version).`;
    const need = files.reduce((n, f) => n + f.size, 0);
    const free = this.listing.freeBytes;
    if (free !== undefined && need > free && !this.linking())
      return `Not enough disk space: ${fmtBytes(need)} needed, ${fmtBytes(free)} free in ${this.root}.`;
    return undefined;
  }

  async importFiles(files: File[]): Promise<void> {
    const s = this.session;
    s.error = '';
    s.notice = '';
    const refused = this.refuse(files);
    if (refused) {
      s.error = refused;
      return;
    }
    const root = this.root;
    const link = this.linking();
    const sources: { source: string; name: string }[] = [];
    try {
      for (const [index, f] of files.entries()) {
        // Electron gives the real path (main copies it); the browser UI uploads the bytes first.
        const path = pxe.pathForFile?.(f);
        if (path) {
          sources.push({ source: path, name: f.name });
          continue;
        }
        const at = { phase: 'upload' as const, name: f.name, index: index + 1, count: files.length };
        const started = Date.now();
        this.transfer = { ...at, bytes: 0, total: f.size, elapsedMs: 0 };
        this.uploadAbort = new AbortController();
        const source = await uploadFile(
          f,
          (fraction) => {
            this.transfer = {
              ...at,
              bytes: Math.round(fraction * f.size),
              total: f.size,
              elapsedMs: Date.now() - started,
            };
          },
          this.uploadAbort.signal,
        );
        sources.push({ source, name: f.name });
      }
      // Main copies now and reports it (library-import events); the rest of the page stays usable.
      const r = await pxe.invoke('library.import', { root, files: sources, ...(link ? { link: true } : {}) });
      if (r.ok) {
        const { copied, linked } = r.value;
        const names = files.map((f) => f.name).join(', ');
        s.notice = linked.length
          ? `Linked ${linked.length} file(s) into the library (no copy; they share their bytes with the originals): ${names}.`
          : `Copied ${copied.length} file(s) into the library: ${names}.`;
      } else if (r.code === 'cancelled')
        s.notice = `${r.message} Nothing half-copied is left in the folder; files finished before stay.`;
      else s.error = r.message;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'cancelled') s.notice = (e as Error).message;
      else s.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.transfer = undefined;
      this.uploadAbort = undefined;
    }
    await this.refresh();
  }

  /** Stops the copy under way into this folder (main removes what was not complete). */
  async cancelImport(): Promise<void> {
    if (this.transfer?.phase === 'upload') {
      this.uploadAbort?.abort();
      return;
    }
    const r = await pxe.invoke('library.cancelImport', { root: this.root });
    if (!r.ok) this.session.error = r.message;
  }

  /** Links only where the page has the files' real paths (the desktop app) and the user chose it. */
  linking(): boolean {
    return this.link && pxe.pathForFile !== undefined;
  }
}
