/**
 * What can boot under Secure Boot (issue 19): whether a library kernel or EFI program carries an Authenticode
 * signature and who signed it, for the library view ("signed by Debian Secure Boot CA" / "unsigned: refused
 * under Secure Boot") and the generated GRUB menu of the signed chain (app/core/grub-script.ts marks an
 * unsigned kernel, because shim's verifier refuses it: rhboot/shim `shim_lock` protocol, GRUB's
 * `shim_lock` verifier).
 *
 * Read with app/engines/pe (`inspectPeFile`: headers and the certificate table only, a few kB per file), once
 * per file version (path, size, mtime, inode), so a rescan — every watcher event, every `library.list` —
 * reads nothing again; one cache per process, bounded. Nothing is verified cryptographically
 * (docs/secure-boot.md): "signed by X" means the file carries a signature naming X.
 */
import path from 'node:path';
import { openFileSource } from '../engines/iso/file-source.js';
import { openIso } from '../engines/iso/open-iso.js';
import { inspectPe, type ByteSource, type PeInspection } from '../engines/pe/authenticode.js';
import { inspectPeFile } from '../engines/pe/inspect-file.js';
import { PeError } from '../engines/pe/pe-error.js';
import type { IsoInfo } from '../shared/iso-boot-types.js';
import type { LibraryEntry } from '../shared/library-types.js';
import type { SignatureInfo } from '../shared/secure-boot.js';
import type { FileVersion } from './library-iso-cache.js';

/** A file the scan found, as far as signatures care (the library's FoundFile). */
export interface SignedFileRef {
  /** Root-relative, '/'-separated. */
  readonly rel: string;
  readonly sniff: { readonly kind: string };
  readonly version: FileVersion;
}

/** Entry kinds that Secure Boot firmware or shim would have to run: kernels and EFI programs. */
const SIGNED_KINDS: ReadonlySet<LibraryEntry['kind']> = new Set(['linux', 'efi']);
/** The same files as the sniffer names them. */
const SNIFFED_KINDS: ReadonlySet<string> = new Set(['linux-kernel', 'efi']);

/** A signer's name for people: its common name, else its organisation, else the whole name. */
function nameOf(n: { commonName?: string; organization?: string; text?: string }): string | undefined {
  return n.commonName ?? n.organization ?? (n.text || undefined);
}

function unique(names: readonly (string | undefined)[]): string[] {
  return [...new Set(names.filter((n): n is string => n !== undefined && n !== ''))];
}

/**
 * The library's view of an inspection: signed or not, the signers and the CAs that issued them (outermost
 * signature first). A kernel without the EFI stub (not a PE image) cannot carry a signature: unsigned.
 */
export function signatureInfo(p: PeInspection): SignatureInfo {
  if (!p.signed) return { signed: false, signers: [] };
  return {
    signed: true,
    signers: unique(p.signers.map((s) => (s.subject ? nameOf(s.subject) : undefined))),
    issuers: unique(p.signers.map((s) => nameOf(s.issuer))),
  };
}

export interface SignatureCacheOptions {
  /** Default: app/engines/pe `inspectPeFile`. */
  readonly inspect?: (fullPath: string) => Promise<PeInspection>;
  /** File versions remembered (default 1024; the least recently used go first). */
  readonly maxItems?: number;
}

/**
 * The paths inside an ISO whose signatures decide what boots under Secure Boot: the kernels of its UEFI
 * entries and its own EFI loader chain (shim, GRUB).
 */
export function isoSignedPaths(iso: IsoInfo): string[] {
  const kernels = iso.entries.filter((e) => e.firmware.includes('uefi')).map((e) => e.kernel);
  return unique([...kernels, iso.efiLoader?.path, iso.efiLoader?.secondStage]);
}

export class SignatureCache {
  /** By file version (and path inside an ISO); null: read, but no claim can be made (unreadable). */
  private readonly items = new Map<string, SignatureInfo | null>();
  private readonly reading = new Map<string, Promise<void>>();

  constructor(private readonly options: SignatureCacheOptions = {}) {}

  private static key(fullPath: string, v: FileVersion, inner = ''): string {
    return `${fullPath}\0${v.size}\0${v.mtimeMs}\0${v.ino}\0${inner}`;
  }

  /** The signature of this file version (or of `inner` inside this ISO) when read; undefined otherwise. */
  lookup(fullPath: string, v: FileVersion, inner?: string): SignatureInfo | undefined {
    return this.hit(SignatureCache.key(fullPath, v, inner))?.info;
  }

  /** Whether this file version (or `inner` inside it) was read, with or without a result. */
  known(fullPath: string, v: FileVersion, inner?: string): boolean {
    return this.items.has(SignatureCache.key(fullPath, v, inner));
  }

  private hit(key: string): { info: SignatureInfo | undefined } | undefined {
    const hit = this.items.get(key);
    if (hit === undefined) return undefined;
    this.items.delete(key); // recently used stays: Map order is the eviction order
    this.items.set(key, hit);
    return { info: hit ?? undefined };
  }

  private store(key: string, info: SignatureInfo | undefined): void {
    this.items.set(key, info ?? null);
    const max = this.options.maxItems ?? 1024;
    while (this.items.size > max) this.items.delete(this.items.keys().next().value!);
  }

  /**
   * Reads the signatures of `inner` paths inside this ISO version not read yet, through the ISO reader
   * (in place: nothing is extracted). True when it read anything. Never throws.
   */
  async readIso(isoPath: string, v: FileVersion, inner: readonly string[]): Promise<boolean> {
    const todo = inner.filter((p) => {
      const key = SignatureCache.key(isoPath, v, p);
      return !this.items.has(key) && !this.reading.has(key);
    });
    if (todo.length === 0) return false;
    const pending = this.inspectInIso(isoPath, todo).then((found) => {
      for (const p of todo) {
        const key = SignatureCache.key(isoPath, v, p);
        this.reading.delete(key);
        this.store(key, found.get(p));
      }
    });
    for (const p of todo) this.reading.set(SignatureCache.key(isoPath, v, p), pending);
    await pending;
    return true;
  }

  private async inspectInIso(isoPath: string, inner: readonly string[]): Promise<Map<string, SignatureInfo>> {
    const out = new Map<string, SignatureInfo>();
    let src;
    try {
      src = await openFileSource(isoPath);
    } catch {
      return out;
    }
    try {
      const image = await openIso(src);
      for (const p of inner) {
        const info = await this.guarded(async () => {
          const { size } = await image.stat(p);
          const member: ByteSource = {
            size,
            read: (offset, length) => image.readFile(p, { offset, length }),
          };
          return inspectPe(member);
        });
        if (info) out.set(p, info);
      }
    } catch {
      // Not an image the reader opens: no claim about its files.
    } finally {
      await src.close();
    }
    return out;
  }

  /** Reads the file versions not read yet (several at once share one read each). Never throws. */
  async read(files: readonly { readonly fullPath: string; readonly version: FileVersion }[]): Promise<void> {
    await Promise.all(files.map((f) => this.readOne(f.fullPath, f.version)));
  }

  private readOne(fullPath: string, v: FileVersion): Promise<void> {
    const key = SignatureCache.key(fullPath, v);
    if (this.items.has(key)) return Promise.resolve();
    let pending = this.reading.get(key);
    if (!pending) {
      pending = this.guarded(() => (this.options.inspect ?? inspectPeFile)(fullPath)).then((info) => {
        this.reading.delete(key);
        this.store(key, info);
      });
      this.reading.set(key, pending);
    }
    return pending;
  }

  private async guarded(inspect: () => Promise<PeInspection>): Promise<SignatureInfo | undefined> {
    try {
      return signatureInfo(await inspect());
    } catch (e) {
      if (!(e instanceof PeError) || e.code === 'io') return undefined; // unreadable now: no claim either way
      // "MZ" without a valid PE header is no PE image: nothing a signature could be read from.
      if (e.code === 'bad-pe-header') return { signed: false, signers: [] };
      // A signed file cut short has a certificate table past its end: damaged, which firmware refuses too.
      return { signed: false, signers: [], damaged: true };
    }
  }
}

/** One cache for every library of the process (the session's and the UI's short-lived ones). */
export const sharedSignatureCache = new SignatureCache();

/** Reads the signatures of the kernels and EFI programs a scan found (the scan awaits it: headers only). */
export async function readSignatures(
  root: string,
  found: readonly SignedFileRef[],
  cache: SignatureCache = sharedSignatureCache,
): Promise<void> {
  await cache.read(
    found
      .filter((f) => SNIFFED_KINDS.has(f.sniff.kind))
      .map((f) => ({ fullPath: path.join(root, f.rel), version: f.version })),
  );
}

export interface WithSignaturesOptions {
  readonly cache?: SignatureCache;
  /**
   * Called when signatures inside ISOs (read in the background, once the ISO analysis named its kernels)
   * have been read: the library rebuilds its entries. Without it, ISOs get only what is already known.
   */
  readonly onRead?: () => void;
}

/**
 * The entries with `signature` on kernels and EFI programs, and `isoSignatures` on analysed ISOs (their UEFI
 * kernels and own EFI loaders), as far as read.
 */
export function withSignatures(
  root: string,
  entries: readonly LibraryEntry[],
  found: readonly SignedFileRef[],
  options: WithSignaturesOptions = {},
): LibraryEntry[] {
  const cache = options.cache ?? sharedSignatureCache;
  const byRel = new Map(found.map((f) => [f.rel, f]));
  return entries.map((e) => {
    const f = byRel.get(e.path);
    if (!f) return e;
    const full = path.join(root, f.rel);
    if (SIGNED_KINDS.has(e.kind)) {
      const signature = cache.lookup(full, f.version);
      return signature ? { ...e, signature } : e;
    }
    if (e.kind !== 'iso' || !e.iso) return e;
    const inner = isoSignedPaths(e.iso);
    if (options.onRead && inner.some((p) => !cache.known(full, f.version, p))) {
      const onRead = options.onRead;
      void cache.readIso(full, f.version, inner).then((read) => read && onRead());
    }
    const isoSignatures: Record<string, SignatureInfo> = {};
    for (const p of inner) {
      const sig = cache.lookup(full, f.version, p);
      if (sig) isoSignatures[p] = sig;
    }
    return Object.keys(isoSignatures).length > 0 ? { ...e, isoSignatures } : e;
  });
}
