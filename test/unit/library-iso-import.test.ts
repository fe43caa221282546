/**
 * ISO entries in the library (issue 18): the analysis runs in the background once per file version and is
 * shared by rescans and library instances; its routes decide the firmware; the user's command line per boot
 * entry. Import: copy progress, hidden until whole, never over a file, never moving the source, links.
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isoEntryMetaKey } from '../../app/shared/iso-boot-types.js';
import { importIntoLibrary, sweepStaleImports } from '../../app/core/library-import.js';
import { IsoAnalysisCache } from '../../app/core/library-iso-cache.js';
import { NetbootLibrary } from '../../app/core/netboot-library.js';
import { createUiApi, type UiSession } from '../../app/core/ui-api.js';
import type { ContractEvent, ImportProgress } from '../../app/shared/ipc-contract.js';
import type { IsoInfo } from '../../app/shared/iso-boot-types.js';
import type { LibraryEntry } from '../../app/shared/library-types.js';
import { biosUefiIso, haveTools } from '../helpers/iso-images.js';

const dirs: string[] = [];
const tmp = (prefix = 'pxe-lib-iso-'): string => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The UI API's session in these tests, which use only its library channels: idle, refusing to start. */
const idleSession: UiSession = {
  start: () => Promise.reject(new Error('no')),
  stop: () => Promise.reject(new Error('no')),
  snapshot: () => ({ state: 'idle', clients: [], warnings: [] }),
  onEvent: () => () => undefined,
  clientAction: () => undefined,
};

/** Writes `size` bytes with a bzImage header ("HdrS" at 0x202), so the import recognises a kernel. */
function writeKernel(file: string, size: number): Buffer {
  const data = Buffer.alloc(size);
  data.write('HdrS', 0x202, 'latin1');
  writeFileSync(file, data);
  return data;
}

/** What an analysis of a live ISO that boots on UEFI only by its kernel could say. */
const uefiOnly = (volumeLabel: string): IsoInfo => ({
  family: 'live-boot',
  distro: 'Debian',
  version: '12.5',
  volumeLabel,
  elTorito: { bios: true, uefi: true },
  routeSummary: 'kernel and initrd from the ISO, root streamed over HTTP',
  ramBytes: 1_500_000_000,
  entries: [
    {
      id: 'grub-efi-0',
      title: 'Live system',
      firmware: ['uefi'],
      route: 'kernel-root-http',
      kernel: 'live/vmlinuz',
      initrds: ['live/initrd.img'],
      cmdline: 'boot=live fetch={iso}/live/filesystem.squashfs',
      isDefault: true,
    },
    { id: 'bios-none', title: 'BIOS', firmware: ['bios'], route: 'none', isDefault: false },
  ],
});

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve = (_v: T): void => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const isoEntry = (entries: readonly LibraryEntry[]): LibraryEntry | undefined =>
  entries.find((e) => e.kind === 'iso');

describe.skipIf(!haveTools('xorriso', 'mformat'))('ISO entries with their analysis', () => {
  it('never waits for the analysis, analyses each file version once, and takes arch from the routes', async () => {
    const root = tmp();
    const iso = biosUefiIso(tmp());
    mkdirSync(path.join(root, 'isos'));
    const target = path.join(root, 'isos', 'live.iso');
    writeFileSync(target, readFileSync(iso.path));
    const gate = deferred<void>();
    const calls: string[] = [];
    const cache = new IsoAnalysisCache({
      analyse: async (full, rel) => {
        calls.push(rel);
        await gate.promise;
        return uefiOnly(path.basename(full));
      },
    });
    const lib = new NetbootLibrary({ root, isoCache: cache });
    // The scan answers while the analysis is held: the entry boots by El Torito meanwhile.
    const first = isoEntry(await lib.scan());
    expect(first).toMatchObject({ analysing: true, arch: ['bios', 'uefi-x64'], label: 'BIOS_UEFI' });
    expect(first?.iso).toBeUndefined();
    const changed = new Promise<readonly LibraryEntry[]>((resolve) => lib.onChange(resolve));
    gate.resolve();
    const after = isoEntry(await changed);
    expect(after?.iso?.distro).toBe('Debian');
    expect(after?.analysing).toBeUndefined();
    // Routes, not El Torito: the BIOS side has no route, so BIOS clients do not get it in their menu.
    expect(after?.arch).toEqual(['uefi-x64']);
    expect(after?.title).toBe('Debian 12.5 (live.iso)');
    // Rescans and another library instance reuse the analysis.
    await lib.scan();
    const other = new NetbootLibrary({ root, isoCache: cache });
    expect(isoEntry(await other.scan())?.iso?.family).toBe('live-boot');
    expect(calls).toEqual(['isos/live.iso']);
    // Another version of the file (new mtime) is analysed again.
    utimesSync(target, new Date(), new Date(Date.now() + 5000));
    await lib.scan();
    await lib.analysed(5000);
    expect(calls).toEqual(['isos/live.iso', 'isos/live.iso']);
    lib.close();
    other.close();
  });

  it('an analysis that fails or hangs leaves the ISO bootable by El Torito, with a note', async () => {
    const root = tmp();
    writeFileSync(path.join(root, 'a.iso'), readFileSync(biosUefiIso(tmp()).path));
    const cache = new IsoAnalysisCache({ analyse: () => new Promise(() => undefined), timeoutMs: 50 });
    const lib = new NetbootLibrary({ root, isoCache: cache });
    await lib.scan();
    const e = isoEntry(await lib.analysed(2000));
    expect(e?.iso).toBeUndefined();
    expect(e?.arch).toEqual(['bios', 'uefi-x64']);
    expect(e?.note).toMatch(/could not be read \(no answer in 0 s\)/);
    lib.close();
  });

  it("keeps the user's command line per boot entry, through the library and the UI contract", async () => {
    const root = tmp();
    writeFileSync(path.join(root, 'live.iso'), readFileSync(biosUefiIso(tmp()).path));
    const cache = new IsoAnalysisCache({ analyse: () => Promise.resolve(uefiOnly('x')) });
    const lib = new NetbootLibrary({ root, isoCache: cache });
    await lib.scan();
    await lib.analysed(2000);
    await lib.setEntryMeta(isoEntryMetaKey('live.iso', 'grub-efi-0'), { cmdline: 'boot=live toram' });
    const e = isoEntry(lib.entries());
    expect(e?.iso?.entries[0]?.cmdline).toBe('boot=live toram');
    expect(e?.isoEdited).toEqual(['grub-efi-0']);
    expect(e?.cmdline).toBeUndefined(); // the ISO's row itself has no command line
    lib.close();
  });
});

describe.skipIf(!haveTools('xorriso', 'mformat'))('library.update for one boot entry of an ISO', () => {
  it('edits and clears that entry only; an unknown boot entry is refused', async () => {
    const root = tmp();
    writeFileSync(path.join(root, 'live.iso'), readFileSync(biosUefiIso(tmp()).path));
    // The UI's listings use the process's shared cache: seed it with this file's analysis.
    const { sharedIsoCache } = await import('../../app/core/library-iso-cache.js');
    const st = statSync(path.join(root, 'live.iso'));
    (sharedIsoCache as unknown as { options: { analyse: unknown } }).options.analyse = () =>
      Promise.resolve(uefiOnly('x'));
    sharedIsoCache.lookup(path.join(root, 'live.iso'), 'live.iso', {
      size: st.size,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
    });
    const api = createUiApi({ session: idleSession, listInterfaces: () => Promise.resolve([]) });
    const r = await api.handle('library.update', {
      root,
      entry: 'live.iso',
      bootEntry: 'grub-efi-0',
      cmdline: 'boot=live fetch={iso}/live/filesystem.squashfs quiet',
    });
    expect(r.ok).toBe(true);
    const listed = r.ok ? (r.value as { entries: LibraryEntry[] }).entries : [];
    expect(isoEntry(listed)?.iso?.entries[0]?.cmdline).toMatch(/ quiet$/);
    const meta: unknown = JSON.parse(readFileSync(path.join(root, '.pxe-desk', 'library.json'), 'utf8'));
    expect(meta).toMatchObject({ entries: { 'live.iso#grub-efi-0': { cmdline: expect.any(String) } } });
    const bad = await api.handle('library.update', {
      root,
      entry: 'live.iso',
      bootEntry: 'nope',
      cmdline: 'x',
    });
    expect(bad).toMatchObject({ ok: false, code: 'unknown-entry' });
    const cleared = await api.handle('library.update', {
      root,
      entry: 'live.iso',
      bootEntry: 'grub-efi-0',
      cmdline: '',
    });
    const back = cleared.ok ? isoEntry((cleared.value as { entries: LibraryEntry[] }).entries) : undefined;
    expect(back?.iso?.entries[0]?.cmdline).toBe('boot=live fetch={iso}/live/filesystem.squashfs');
    expect(back?.isoEdited).toBeUndefined();
  });
});

describe.skipIf(!haveTools('xorriso', 'mformat'))('library.list and a long ISO analysis', () => {
  it('answers without it (the row says it is being read), then tells the page to list again', async () => {
    const root = tmp();
    writeFileSync(path.join(root, 'slow.iso'), readFileSync(biosUefiIso(tmp()).path));
    const gate = deferred<void>();
    const isoCache = new IsoAnalysisCache({
      analyse: async () => {
        await gate.promise;
        return uefiOnly('x');
      },
    });
    const api = createUiApi({ session: idleSession, listInterfaces: () => Promise.resolve([]), isoCache });
    const events: ContractEvent[] = [];
    api.onEvent((e) => events.push(e));
    const started = Date.now();
    const first = await api.handle('library.list', { root });
    expect(Date.now() - started).toBeLessThan(5000); // waited at most its 1.5 s, never for the analysis
    expect(first.ok && isoEntry((first.value as { entries: LibraryEntry[] }).entries)?.analysing).toBe(true);
    gate.resolve();
    await expect
      .poll(() => events.find((e) => e.type === 'library-changed'))
      .toEqual({ type: 'library-changed', path: path.join(root, 'slow.iso') });
    const again = await api.handle('library.list', { root });
    expect(again.ok && isoEntry((again.value as { entries: LibraryEntry[] }).entries)?.iso?.distro).toBe(
      'Debian',
    );
  });
});

describe('import into the library', () => {
  it('reports progress, stays hidden until whole, never moves the source', async () => {
    const root = tmp();
    const src = path.join(tmp(), 'big.iso');
    const data = randomBytes(24 * 1024 * 1024);
    writeFileSync(src, data);
    const seen: { bytes: number; total: number }[] = [];
    let listedMidway: string[] | undefined;
    let entriesMidway: readonly LibraryEntry[] | undefined;
    await importIntoLibrary(src, root, 'big.iso', {
      progressMs: 0,
      onProgress: (p) => {
        seen.push(p);
        if (!listedMidway && p.bytes < p.total) {
          listedMidway = readdirSync(root);
          entriesMidway = [];
        }
      },
    });
    entriesMidway = await new NetbootLibrary({ root }).scan();
    expect(listedMidway).toEqual(['.pxe-desk']); // the copy under way has only a hidden name
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.map((p) => p.bytes)).toEqual([...seen.map((p) => p.bytes)].sort((a, b) => a - b));
    expect(seen.at(-1)).toEqual({ bytes: data.length, total: data.length });
    expect(readFileSync(path.join(root, 'big.iso')).equals(data)).toBe(true);
    expect(existsSync(src)).toBe(true);
    expect(readdirSync(path.join(root, '.pxe-desk', 'import'))).toEqual([]);
    expect(entriesMidway.map((e) => e.id)).toEqual([]); // random bytes: not bootable, and no .part entry
  });

  it('never overwrites a file of the library, and cleans its temp file', async () => {
    const root = tmp();
    const src = path.join(tmp(), 'x.efi');
    writeFileSync(src, 'new');
    writeFileSync(path.join(root, 'x.efi'), 'old');
    await expect(importIntoLibrary(src, root, 'x.efi')).rejects.toMatchObject({ code: 'duplicate' });
    expect(readFileSync(path.join(root, 'x.efi'), 'utf8')).toBe('old');
    // The name taken while the copy ran (a race) is refused at publication, not replaced.
    await expect(
      importIntoLibrary(src, root, 'y.efi', {
        progressMs: 0,
        onProgress: () => {
          if (!existsSync(path.join(root, 'y.efi'))) writeFileSync(path.join(root, 'y.efi'), 'theirs');
        },
      }),
    ).rejects.toMatchObject({ code: 'duplicate' });
    expect(readFileSync(path.join(root, 'y.efi'), 'utf8')).toBe('theirs');
    expect(readdirSync(path.join(root, '.pxe-desk', 'import'))).toEqual([]);
    expect(readFileSync(src, 'utf8')).toBe('new');
  });

  it('a cancelled copy leaves nothing in the folder and the source as it was', async () => {
    const root = tmp();
    const src = path.join(tmp(), 'big.iso');
    writeFileSync(src, randomBytes(16 * 1024 * 1024));
    const abort = new AbortController();
    await expect(
      importIntoLibrary(src, root, 'big.iso', {
        progressMs: 0,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.bytes < p.total) abort.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    expect(readdirSync(root)).toEqual(['.pxe-desk']);
    expect(readdirSync(path.join(root, '.pxe-desk', 'import'))).toEqual([]);
    expect(statSync(src).size).toBe(16 * 1024 * 1024);
  });

  it('library.cancelImport stops the import under way into that folder', async () => {
    const root = tmp();
    const src = path.join(tmp(), 'vmlinuz');
    writeKernel(src, 32 * 1024 * 1024);
    const api = createUiApi({
      session: idleSession,
      listInterfaces: () => Promise.resolve([]),
      progressMs: 0,
    });
    const states: string[] = [];
    api.onEvent((e) => {
      if (e.type !== 'library-import') return;
      states.push(e.progress.state);
      // Cancel once bytes move (another window's Cancel button).
      if (e.progress.state === 'copying' && e.progress.bytes > 0 && states.length === 2)
        void api.handle('library.cancelImport', { root });
    });
    const r = await api.handle('library.import', { root, files: [{ source: src, name: 'vmlinuz' }] });
    expect(r).toMatchObject({ ok: false, code: 'cancelled' });
    expect(states.at(-1)).toBe('cancelled');
    expect(existsSync(path.join(root, 'vmlinuz'))).toBe(false);
    expect(readdirSync(path.join(root, '.pxe-desk', 'import'))).toEqual([]);
  });

  it("removes the half copies of an import whose process is gone, never a running one's", async () => {
    const root = tmp();
    const dir = path.join(root, '.pxe-desk', 'import');
    mkdirSync(dir, { recursive: true });
    // A pid that cannot run (above the kernel's pid_max) and this test's own (a running import).
    writeFileSync(path.join(dir, '99999999-x-1.part'), 'half');
    writeFileSync(path.join(dir, `${process.pid}-y-2.part`), 'running');
    writeFileSync(path.join(dir, 'not-ours.txt'), 'x');
    expect(await sweepStaleImports(root)).toEqual(['99999999-x-1.part']);
    expect(readdirSync(dir).sort()).toEqual([`${process.pid}-y-2.part`, 'not-ours.txt']);
  });

  it('links on the same disk and says so clearly across disks', async () => {
    const root = tmp();
    const src = path.join(tmp(), 'k.efi');
    writeFileSync(src, 'kernel');
    expect(await importIntoLibrary(src, root, 'k.efi', { link: true })).toBe('linked');
    expect(statSync(path.join(root, 'k.efi')).ino).toBe(statSync(src).ino);
    const shm = '/dev/shm';
    if (existsSync(shm) && statSync(shm).dev !== statSync(root).dev) {
      const other = mkdtempSync(path.join(shm, 'pxe-link-'));
      dirs.push(other);
      writeFileSync(path.join(other, 'far.efi'), 'x');
      await expect(
        importIntoLibrary(path.join(other, 'far.efi'), root, 'far.efi', { link: true }),
      ).rejects.toMatchObject({ code: 'cross-device', message: expect.stringMatching(/another disk/) });
    }
  });

  it('library.import pushes typed progress events and answers what it copied and linked', async () => {
    const root = tmp();
    const src = path.join(tmp(), 'vmlinuz');
    const data = writeKernel(src, 6 * 1024 * 1024);
    const events: ContractEvent[] = [];
    const api = createUiApi({
      session: idleSession,
      listInterfaces: () => Promise.resolve([]),
      progressMs: 0,
    });
    api.onEvent((e) => events.push(e));
    const r = await api.handle('library.import', { root, files: [{ source: src, name: 'vmlinuz' }] });
    expect(r).toEqual({ ok: true, value: { copied: [path.join(root, 'vmlinuz')], linked: [] } });
    const progress = events.flatMap((e) => (e.type === 'library-import' ? [e.progress] : []));
    expect(progress[0]).toMatchObject({
      root,
      name: 'vmlinuz',
      index: 1,
      count: 1,
      bytes: 0,
      state: 'copying',
    });
    expect(progress.at(-1)).toMatchObject({ bytes: data.length, total: data.length, state: 'done' });
    expect(progress.every((p: ImportProgress) => p.elapsedMs >= 0)).toBe(true);
    const linked = await api.handle('library.import', {
      root,
      link: true,
      files: [{ source: src, name: 'vmlinuz-linked' }],
    });
    expect(linked).toEqual({ ok: true, value: { copied: [], linked: [path.join(root, 'vmlinuz-linked')] } });
  });

  it("links an upload (PXE Desk's own temp copy) instead of writing its bytes twice; a user's file is copied", async () => {
    const root = tmp();
    const uploads = tmp('pxe-uploads-');
    const up = path.join(uploads, 'vmlinuz');
    const data = writeKernel(up, 64 * 1024);
    const own = path.join(tmp(), 'vmlinuz-own');
    writeFileSync(own, data);
    const api = createUiApi({
      session: idleSession,
      listInterfaces: () => Promise.resolve([]),
      // As the ui-server: upload ids resolve to its temp folder; anything else passes as it is.
      resolveSource: (s) => (s === '/upload/1' ? up : s),
    });
    const r = await api.handle('library.import', {
      root,
      files: [
        { source: '/upload/1', name: 'vmlinuz' },
        { source: own, name: 'vmlinuz-own' },
      ],
    });
    expect(r).toEqual({
      ok: true,
      value: { copied: [path.join(root, 'vmlinuz'), path.join(root, 'vmlinuz-own')], linked: [] },
    });
    expect(statSync(path.join(root, 'vmlinuz')).ino).toBe(statSync(up).ino);
    expect(statSync(path.join(root, 'vmlinuz-own')).ino).not.toBe(statSync(own).ino);
  });
});
