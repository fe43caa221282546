/**
 * From a read request to a transfer ready to run: the name confined to the served folders (one rule
 * with HTTP, engines/files/confine.ts), virtual files, the file opened (or left for the runner that
 * serves it to open), netascii converted, and the options negotiated (negotiate.ts). Anything that
 * stops the request here answers the client with an ERROR through `refuse`.
 */
import { REFUSAL_ANSWER, resolveParts, splitName, type Refused } from '../files/confine.js';
import type { IsoMembers } from '../files/iso-members.js';
import type { Extent } from '../iso/index.js';
import { bufferSource, type FileCache, type FileIdentity, type Source } from './file-cache.js';
import { negotiate, type Negotiated } from './negotiate.js';
import type { TftpServerOptions } from './options.js';
import {
  ERR_ACCESS,
  ERR_ILLEGAL,
  ERR_UNDEFINED,
  encodeOack,
  sanitiseName,
  toNetascii,
  type TftpRequest,
} from './packet.js';

/**
 * A file the runner opens itself: `identity` is the file's at `path`; with `extents`, what is sent
 * is those byte ranges of it (a file inside an ISO image), and its size is their sum.
 */
export interface OnDisk {
  readonly path: string;
  readonly identity: FileIdentity;
  readonly extents?: readonly Extent[];
}

/** A request ready to run: what to send and the options agreed. */
export interface PreparedTransfer {
  /** The name events carry: the sanitised relative path on disk, or the requested name. */
  readonly file: string;
  /** Bytes in memory or a file opened here (virtual files, netascii, in-process transfers). */
  readonly source?: Source;
  /** An octet file the runner that serves it opens itself (offloaded transfers). */
  readonly onDisk?: OnDisk;
  readonly size: number;
  readonly neg: Negotiated;
  /** The OACK to send first, when an option was agreed (RFC 2347). */
  readonly oack?: Buffer;
}

export interface RequestContext {
  readonly options: TftpServerOptions;
  readonly files: FileCache;
  /** Files inside ISO images (the engine's cache). */
  readonly isos?: IsoMembers;
  /** Ends the request: the client gets ERROR `code` with `message`; `why` is logged at info level. */
  refuse(code: number, message: string, why: { message: string; fields: Record<string, unknown> }): void;
}

/**
 * Resolves, opens and negotiates `request` from `client` (`name`: its sanitised filename);
 * undefined when it was refused. `offload`: the transfer will run in a runner, which opens octet
 * files itself.
 */
export async function prepareTransfer(
  request: TftpRequest,
  name: string,
  client: { address: string; port: number },
  offload: boolean,
  ctx: RequestContext,
): Promise<PreparedTransfer | undefined> {
  const { options } = ctx;
  const key = `${client.address}:${client.port}`;
  let source: Source | undefined;
  /** With worker threads an octet file is opened by the worker that serves it, not here. */
  let onDisk: OnDisk | undefined;
  let file = name;
  // One confinement for TFTP and HTTP (engines/files/confine.ts): virtual files, too, are only
  // asked for names the rule accepts (no `..`, no `.pxe-desk/` or other hidden component).
  const refused = (r: Refused): void =>
    ctx.refuse(REFUSAL_ANSWER[r.refusal].tftp, r.reason, {
      message: 'request refused',
      fields: { client: key, file: name, reason: r.reason, refusal: r.refusal },
    });
  const split = splitName(request.filename);
  if (!split.ok) {
    refused(split);
    return undefined;
  }
  if (options.virtualFiles) {
    const data = await options.virtualFiles(split.parts.join('/'), { ...client });
    if (data) source = bufferSource(data);
  }
  if (!source) {
    const dirs = [options.root, ...(options.fallbackDirs ?? [])];
    const caseInsensitive = options.caseInsensitive ?? false;
    const resolved = await resolveParts(split.parts, dirs, {
      caseInsensitive,
      ...(ctx.isos ? { isos: ctx.isos } : {}),
    });
    if (!resolved.ok) {
      refused(resolved);
      return undefined;
    }
    file = sanitiseName(resolved.relative);
    const { dev, ino, size, mtimeMs } = resolved.info;
    const identity: FileIdentity = { dev, ino, size, mtimeMs };
    // A file inside an ISO image: its extents of the image, read in place.
    const extents = resolved.member?.extents.list();
    if (offload && request.mode === 'octet') {
      onDisk = { path: resolved.path, identity, ...(extents ? { extents } : {}) };
    } else {
      const opened = await ctx.files.open(resolved.path, identity, extents);
      if (!opened.ok) {
        ctx.refuse(ERR_ACCESS, opened.reason, {
          message: 'request refused',
          fields: { client: key, file: name, reason: opened.reason },
        });
        return undefined;
      }
      source = opened.source;
    }
  }
  if (source && request.mode === 'netascii') {
    const converted = await netascii(source, options.maxNetasciiBytes ?? 16 * 1024 * 1024);
    if (!converted.ok) {
      const { code, message, reason } = converted;
      ctx.refuse(code, message, { message: converted.log, fields: { client: key, file, reason } });
      return undefined;
    }
    source = converted.source;
  }
  const size = source?.size ?? resolvedSize(onDisk);
  const neg = negotiate(request, request.mode === 'octet' ? size : undefined, options.mtu, {
    ...(options.maxBlksize !== undefined ? { maxBlksize: options.maxBlksize } : {}),
    ...(options.maxWindowsize !== undefined ? { maxWindowsize: options.maxWindowsize } : {}),
  });
  const oack = neg.oack.length > 0 ? encodeOack(neg.oack) : undefined;
  return {
    file,
    ...(source ? { source } : {}),
    ...(onDisk ? { onDisk } : {}),
    size,
    neg,
    ...(oack ? { oack } : {}),
  };
}

/** The bytes an offloaded transfer sends: the file's, or its extents' when it is an image member. */
function resolvedSize(onDisk: OnDisk | undefined): number {
  if (!onDisk) return 0;
  return onDisk.extents ? onDisk.extents.reduce((n, e) => n + e.length, 0) : onDisk.identity.size;
}

/**
 * RFC 1350 netascii (LF -> CR LF, CR -> CR NUL), converted whole, so no block-boundary carry bug.
 * Releases `source` in every case.
 */
async function netascii(
  source: Source,
  limit: number,
): Promise<
  { ok: true; source: Source } | { ok: false; code: number; message: string; log: string; reason: string }
> {
  if (source.size > limit) {
    await source.release();
    const message = 'File too large for netascii, use octet';
    return {
      ok: false,
      code: ERR_ILLEGAL,
      message,
      log: 'request refused',
      reason: 'netascii file too large',
    };
  }
  const raw = Buffer.allocUnsafe(source.size);
  try {
    let at = 0;
    for (let index = 0; at < source.size; index++) {
      const chunk = source.chunk(index) ?? (await source.load(index));
      chunk.copy(raw, at);
      at += chunk.length;
    }
  } catch (error) {
    return {
      ok: false,
      code: ERR_UNDEFINED,
      message: 'Read error',
      log: 'request failed',
      reason: String(error),
    };
  } finally {
    await source.release();
  }
  return { ok: true, source: bufferSource(toNetascii(raw)) };
}
