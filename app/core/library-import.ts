/**
 * Bringing a file into the netboot folder: copied (or hard-linked where the user chose to link), never
 * moved, never over a file that is there. A copy goes to a hidden name inside `.pxe-desk/` on the same file
 * system (the scanner, the watcher and the file servers ignore dot names) and takes its real name only when
 * complete, so a 4 GB ISO half copied is never listed, analysed or served; the folder stays usable meanwhile.
 * Progress is reported as bytes of total while the bytes move.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

/** The library's own folder (metadata, import temp files): hidden from scans and servers. */
export const META_DIR = '.pxe-desk';
const IMPORT_DIR = 'import';

export interface CopyProgress {
  readonly bytes: number;
  readonly total: number;
}

export interface ImportOptions {
  /** Hard link instead of copy (same file system only; else an error with code 'cross-device'). */
  readonly link?: boolean;
  /**
   * Hard link when the file system allows it, else copy: for a source that is PXE Desk's own (a browser
   * upload in its temp folder), so a 4 GB ISO is not written twice on the same disk.
   */
  readonly preferLink?: boolean;
  /** Called at most every `progressMs` while copying, and once with bytes === total at the end. */
  readonly onProgress?: (p: CopyProgress) => void;
  readonly progressMs?: number;
  readonly now?: () => number;
  /** Stops the copy: the temp file is removed and the import fails with code 'cancelled'. */
  readonly signal?: AbortSignal;
}

const coded = (code: string, message: string): Error => Object.assign(new Error(message), { code });
const abortError = (name: string): Error => coded('cancelled', `The import of "${name}" was cancelled.`);

const errCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null ? ((e as { code?: unknown }).code as string | undefined) : undefined;

/**
 * Gives `tmp` the name `dest` unless `dest` exists. link(2) fails with EEXIST instead of replacing (rename(2)
 * would replace); file systems without hard links (FAT, exFAT on a USB stick) get an existence check + rename.
 */
async function publish(tmp: string, dest: string, name: string): Promise<void> {
  try {
    await link(tmp, dest);
    await unlink(tmp);
    return;
  } catch (e) {
    if (errCode(e) === 'EEXIST') throw coded('duplicate', `"${name}" is already in the library.`);
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK'].includes(errCode(e) ?? '')) throw e;
  }
  const there = await stat(dest).then(
    () => true,
    () => false,
  );
  if (there) throw coded('duplicate', `"${name}" is already in the library.`);
  await rename(tmp, dest);
}

/** Whether process `pid` still runs (signal 0 asks without signalling; EPERM: it runs as someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM';
  }
}

/**
 * Removes temp files of imports whose process is gone (PXE Desk stopped or crashed mid-copy): a 4 GB half
 * copy must not sit hidden in the folder for ever. Temp names start with the copying process' pid.
 */
export async function sweepStaleImports(root: string): Promise<string[]> {
  const dir = path.join(root, META_DIR, IMPORT_DIR);
  const names = await readdir(dir).catch(() => [] as string[]);
  const gone: string[] = [];
  for (const n of names) {
    const pid = /^(\d+)-.*\.part$/.exec(n)?.[1];
    if (pid === undefined || Number(pid) === process.pid || alive(Number(pid))) continue;
    await unlink(path.join(dir, n)).then(
      () => gone.push(n),
      () => undefined,
    );
  }
  return gone;
}

/**
 * Copies (or links) `source` to `<root>/<name>`; `name` is a plain base name checked by the caller.
 * Returns how it was brought in. The source is only read. On failure the temp file is removed.
 */
export async function importIntoLibrary(
  source: string,
  root: string,
  name: string,
  options: ImportOptions = {},
): Promise<'copied' | 'linked'> {
  const dest = path.join(root, name);
  const st = await stat(source);
  if (!st.isFile()) throw coded('not-a-file', `"${name}" is not a file.`);
  if (
    await stat(dest).then(
      () => true,
      () => false,
    )
  )
    throw coded('duplicate', `"${name}" is already in the library.`);
  if (options.preferLink && !options.link) {
    try {
      await link(source, dest);
      options.onProgress?.({ bytes: st.size, total: st.size });
      return 'linked';
    } catch (e) {
      if (errCode(e) === 'EEXIST') throw coded('duplicate', `"${name}" is already in the library.`);
      // Another disk or no links there: copy.
    }
  }
  if (options.link) {
    try {
      await link(source, dest);
    } catch (e) {
      const code = errCode(e);
      if (code === 'EEXIST') throw coded('duplicate', `"${name}" is already in the library.`);
      if (code === 'EXDEV')
        throw coded(
          'cross-device',
          `"${name}" is on another disk than the netboot folder: a link is only possible on the same disk. Copy it instead, or put the netboot folder on that disk.`,
        );
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP')
        throw coded(
          'link-unsupported',
          `The netboot folder's disk does not allow links: copy "${name}" instead.`,
        );
      throw e;
    }
    options.onProgress?.({ bytes: st.size, total: st.size });
    return 'linked';
  }
  const dir = path.join(root, META_DIR, IMPORT_DIR);
  await mkdir(dir, { recursive: true });
  await sweepStaleImports(root);
  const tmp = path.join(
    dir,
    `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.part`,
  );
  const now = options.now ?? Date.now;
  const every = options.progressMs ?? 250;
  let bytes = 0;
  let last = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      const t = now();
      if (options.onProgress && t - last >= every) {
        last = t;
        options.onProgress({ bytes, total: st.size });
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      createReadStream(source, { highWaterMark: 1 << 20 }),
      counter,
      createWriteStream(tmp, { flags: 'wx' }),
      options.signal ? { signal: options.signal } : {},
    );
    if (options.signal?.aborted) throw abortError(name);
    await publish(tmp, dest, name);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    if (options.signal?.aborted) throw abortError(name);
    throw e;
  }
  options.onProgress?.({ bytes, total: st.size });
  return 'copied';
}
