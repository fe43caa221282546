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
import type { PeInspection } from '../engines/pe/authenticode.js';
import { inspectPeFile } from '../engines/pe/inspect-file.js';
import { PeError } from '../engines/pe/pe-error.js';
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

export class SignatureCache {
  private readonly items = new Map<string, SignatureInfo | undefined>();
  private readonly reading = new Map<string, Promise<void>>();

  constructor(private readonly options: SignatureCacheOptions = {}) {}

  private static key(fullPath: string, v: FileVersion): string {
    return `${fullPath}\0${v.size}\0${v.mtimeMs}\0${v.ino}`;
  }

  /** The signature of this file version when read (undefined: not read yet, or unreadable). */
  lookup(fullPath: string, v: FileVersion): SignatureInfo | undefined {
    const key = SignatureCache.key(fullPath, v);
    const hit = this.items.get(key);
    if (hit !== undefined) {
      this.items.delete(key); // recently used stays: Map order is the eviction order
      this.items.set(key, hit);
    }
    return hit;
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
      pending = this.inspect(fullPath).then((info) => {
        this.reading.delete(key);
        this.items.set(key, info);
        const max = this.options.maxItems ?? 1024;
        while (this.items.size > max) this.items.delete(this.items.keys().next().value!);
      });
      this.reading.set(key, pending);
    }
    return pending;
  }

  private async inspect(fullPath: string): Promise<SignatureInfo | undefined> {
    try {
      return signatureInfo(await (this.options.inspect ?? inspectPeFile)(fullPath));
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

/** The entries with `signature` set on kernels and EFI programs whose signature has been read. */
export function withSignatures(
  root: string,
  entries: readonly LibraryEntry[],
  found: readonly SignedFileRef[],
  cache: SignatureCache = sharedSignatureCache,
): LibraryEntry[] {
  const byRel = new Map(found.map((f) => [f.rel, f]));
  return entries.map((e) => {
    const f = SIGNED_KINDS.has(e.kind) ? byRel.get(e.path) : undefined;
    const signature = f ? cache.lookup(path.join(root, f.rel), f.version) : undefined;
    return signature ? { ...e, signature } : e;
  });
}
