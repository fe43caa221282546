/**
 * The netboot folder as the page shows it: its listing, per-entry settings and the import of dropped
 * files (uploaded first in the browser UI, by path in Electron). Errors and notices go to the session
 * store's banners.
 */
import type { LibraryListing } from '../../app/shared/ipc-contract.js';
import { pxe } from './client.js';
import { NOT_BOOTABLE_NAME, fmtBytes } from './format.js';
import type { SessionStore } from './session-store.svelte.js';
import { uploadFile } from './upload.js';

export const EMPTY_LISTING: LibraryListing = { exists: false, files: [], entries: [], perMac: {} };

export interface UploadProgress {
  name: string;
  fraction: number;
  index: number;
  count: number;
}

export class LibraryStore {
  root = $state('');
  listing = $state.raw<LibraryListing>(EMPTY_LISTING);
  upload = $state<UploadProgress | undefined>();

  /** Library files that are not the main file of an entry nor a paired initrd: they cannot boot. */
  strayFiles = $derived(
    this.listing.files.filter(
      (f) =>
        !this.listing.entries.some((e) => e.path === f.name || e.initrd === f.name) &&
        !/\.ipxe$/.test(f.name),
    ),
  );
  defaultId = $derived(this.listing.defaultEntry ?? this.listing.entries[0]?.id);

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

  async updateEntry(
    entry: string,
    change: { title?: string; cmdline?: string; makeDefault?: boolean },
  ): Promise<void> {
    const r = await pxe.invoke('library.update', { root: this.root, entry, ...change });
    if (!r.ok) {
      this.session.error = r.message;
      return;
    }
    this.session.error = '';
    this.listing = r.value;
    this.session.notice = change.makeDefault
      ? `${entry} is now the default entry of the boot menu.`
      : `Saved the settings of ${entry}${this.session.running ? ': the next boot menu uses them' : ''}.`;
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
    if (free !== undefined && need > free)
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
    const sources: { source: string; name: string }[] = [];
    try {
      for (const [index, f] of files.entries()) {
        // Electron gives the real path (main copies it); the browser UI uploads the bytes first.
        const path = pxe.pathForFile?.(f);
        if (path) {
          sources.push({ source: path, name: f.name });
          continue;
        }
        const at = { name: f.name, index: index + 1, count: files.length };
        this.upload = { ...at, fraction: 0 };
        const source = await uploadFile(f, (fraction) => (this.upload = { ...at, fraction }));
        sources.push({ source, name: f.name });
      }
      if (this.upload) this.upload = { ...this.upload, fraction: 1 };
      const r = await pxe.invoke('library.import', { root, files: sources });
      if (r.ok)
        s.notice = `Copied ${r.value.copied.length} file(s) into the library: ${files.map((f) => f.name).join(', ')}.`;
      else s.error = r.message;
    } catch (e) {
      s.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.upload = undefined;
    }
    await this.refresh();
  }
}
