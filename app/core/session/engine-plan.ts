/**
 * The engine plan of a session: which engines a mode runs, with which options (typed by each engine,
 * engine-factory.ts), in which order: TFTP, then the netboot library and HTTP (whose address the boot
 * answers name), then the DHCP engine that points clients at them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultNativeTftpPath } from '../../engines/tftp/native-data-path.js';
import { defaultNativeHttpPath } from '../../engines/http/native-body-path.js';
import type { BootConfig } from '../../engines/dhcp/boot-decision.js';
import type { DatagramTransport } from '../../shared/datagram-transport.js';
import type { FirmwareKind } from '../../shared/events.js';
import type { Engine } from '../../shared/engine.js';
import type { Clock, Logger } from '../../shared/runtime.js';
import { normalizeMac, parseVendorOptions, type ValidatedConfig } from '../config-validate.js';
import { createGrubHandler } from '../grub-script.js';
import { createScriptHandler, parseScriptQuery } from '../ipxe-script.js';
import { SIGNED_BOOT_IMAGE, writeSignedBootImage } from '../signed-boot-image.js';
import { NetbootLibrary } from '../netboot-library.js';
import type { ClientBook } from '../clients/index.js';
import type { EngineFactory } from './engine-factory.js';
import type { SessionControllerOptions } from './options.js';

export interface EnginePlanContext {
  readonly factory: EngineFactory;
  readonly options: SessionControllerOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The DHCP transport the preflight opened (absent in files mode). */
  readonly transport: DatagramTransport | undefined;
  readonly book: ClientBook;
  /** Takes each engine before it starts: if start() throws, teardown still stops it (stop is idempotent). */
  track(engine: Engine): void;
  /** Every engine's events go here. */
  onEvent: Parameters<Engine['onEvent']>[0];
  /** The library as soon as it exists (per-MAC overrides, rescans), for teardown to close it. */
  adoptLibrary(library: NetbootLibrary): void;
  warn(message: string): void;
  /** Bound endpoints for the snapshot, filled as each engine starts. */
  readonly endpoints: Record<string, string>;
}

/** How long a boot file's presence is trusted (ms): a file copied in is served within a second. */
const FILE_CHECK_MS = 1000;
/** Names remembered at most (the boot decision asks for a handful: the configured boot files). */
const FILE_CHECK_NAMES = 64;

/**
 * `exists`, asked at most once per FILE_CHECK_MS per name: the boot decision checks the boot file on every
 * DISCOVER, and a stat per datagram was the largest single cost of an OFFER at 20 000/s.
 */
export function cachedExists(exists: (name: string) => boolean, clock: Clock): (name: string) => boolean {
  const seen = new Map<string, { ok: boolean; at: number }>();
  return (name) => {
    const now = clock.now();
    const hit = seen.get(name);
    if (hit && now - hit.at < FILE_CHECK_MS && now >= hit.at) return hit.ok;
    const ok = exists(name);
    if (!hit && seen.size >= FILE_CHECK_NAMES) seen.clear();
    seen.set(name, { ok, at: now });
    return ok;
  };
}

export async function startEngines(v: ValidatedConfig, ctx: EnginePlanContext): Promise<void> {
  const c = v.config;
  const ports = c.ports ?? {};
  const { options, factory, logger, clock, book, endpoints } = ctx;
  const fallbackDirs = options.bootFilesDir && existsSync(options.bootFilesDir) ? [options.bootFilesDir] : [];
  const common = { logger, clock };
  const startOne = async (engine: Engine): Promise<void> => {
    engine.onEvent(ctx.onEvent);
    ctx.track(engine);
    await engine.start();
  };
  const transport = ctx.transport;
  const viaHelper = transport?.kind === 'helper' ? { transport } : {};

  const httpPort = ports.http ?? 8080;
  const nativeTftp =
    options.nativeTftpPath === false ? undefined : (options.nativeTftpPath ?? defaultNativeTftpPath());
  const nativeHttp =
    options.nativeHttpPath === false ? undefined : (options.nativeHttpPath ?? defaultNativeHttpPath());
  // The signed chain's GRUB menu (grub-script.ts), generated per client; set once the library exists.
  let grub: ReturnType<typeof createGrubHandler> | undefined;
  const tftp = await factory.tftp({
    ...common,
    root: c.root,
    address: v.address,
    port: ports.tftp ?? 69,
    fallbackDirs,
    virtualFiles: async (name, client) => {
      const text = await grub?.(name, client.address);
      return text === undefined ? undefined : Buffer.from(text, 'utf8');
    },
    ...viaHelper,
    ...(nativeTftp ? { nativeDataPath: nativeTftp } : {}),
  });
  await startOne(tftp);
  endpoints.tftp = `${v.address}:${tftp.port?.() ?? ports.tftp ?? 69}`;

  // Generated iPXE menu (boot.ipxe) from the netboot library; a library failure only loses the menu.
  let httpBase = '';
  let scripts: ReturnType<typeof createScriptHandler> | undefined;
  try {
    const library = new NetbootLibrary({ root: c.root, logger: logger.child('library') });
    try {
      await library.scan();
    } catch (error) {
      library.close();
      throw error;
    }
    library.watch();
    ctx.adoptLibrary(library);
    const menu = createScriptHandler(library, {
      baseUrl: () => httpBase,
      onBootOnce: (mac, entry) => {
        logger.info(`${mac} booted ${entry} once; the menu is back`);
        book.touch(mac); // the row's boot override is gone
      },
    });
    grub = createGrubHandler(library, {
      baseUrl: () => httpBase,
      macForIp: (ip) => book.macForIp(ip),
      onBootOnce: (mac, entry) => {
        logger.info(`${mac} booted ${entry} once; the menu is back`);
        book.touch(mac);
      },
      onRefused: (mac, entry) => {
        logger.warn('GRUB refused a kernel (Secure Boot)', { mac, entry });
        book.kernelRefused(mac, entry); // the row's timeline and diagnosis say so
      },
      // The library's Authenticode facts (library-signature.ts): the menu marks unsigned kernels.
      signatureOf: (entry) => entry.signature,
    });
    const grubMenu = grub;
    // The boot-script request carries the client's MAC: learn its IP here so the downloads that
    // follow join its record (in proxy mode we never see the site server's lease).
    scripts = async (path, query, clientIp) => {
      const mac = parseScriptQuery(query)?.mac;
      if (path === 'boot.ipxe' && mac) book.learnIp(clientIp, mac);
      // GRUB after UEFI HTTP boot asks for its config over HTTP (docs/secure-boot.md).
      return (await grubMenu(path, clientIp)) ?? menu(path, query, clientIp);
    };
  } catch (error) {
    ctx.warn(`The netboot folder could not be scanned (${String(error)}): no generated boot menu.`);
  }
  // The signed chain for UEFI HTTP boot clients: a RAM-disk image with shim, GRUB and a grub.cfg naming our
  // TFTP server (signed-boot-image.ts; docs/secure-boot.md), written when the signed boot files exist.
  let imageDir: string | undefined;
  const signedFiles = fallbackDirs.find(
    (d) => existsSync(join(d, 'shimx64.efi')) && existsSync(join(d, 'grubx64.efi')),
  );
  if (signedFiles && c.mode !== 'files' && c.secureBoot !== 'off') {
    try {
      imageDir = writeSignedBootImage(signedFiles, c.fileServer ?? v.address);
    } catch (error) {
      ctx.warn(`The signed chain's HTTP boot image could not be written (${String(error)}).`);
    }
  }
  const httpDirs = imageDir ? [...fallbackDirs, imageDir] : fallbackDirs;
  const http = await factory.http({
    ...common,
    root: c.root,
    address: v.address,
    port: httpPort,
    fallbackDirs: httpDirs,
    macForIp: (ip: string) => book.macForIp(ip),
    ...(scripts ? { scripts } : {}),
    ...(nativeHttp ? { nativeBodyPath: nativeHttp } : {}),
  });
  await startOne(http);
  const realHttpPort = http.port?.() ?? httpPort;
  // PyPXE -f: clients fetch files from this host (siaddr, option 66, boot URLs and the menu's URLs).
  const fileHost = c.fileServer ?? v.address;
  const httpBaseUrl = `http://${fileHost}:${realHttpPort}`;
  httpBase = httpBaseUrl;
  endpoints.http = `http://${v.address}:${realHttpPort}/`;

  if (c.mode === 'files' || !transport) return;
  const chain = c.chainloadUrl?.trim();
  const boot: BootConfig = {
    mode: c.mode,
    serverAddress: v.address,
    tftpServer: fileHost,
    httpBaseUrl,
    // A bare file name (proxyDHCPd's default "boot.ipxe") is fetched from our HTTP server.
    ...(chain
      ? { chainloadUrl: /^[a-z]+:\/\//i.test(chain) ? chain : `${httpBaseUrl}/${chain.replace(/^\/+/, '')}` }
      : {}),
    ...(c.bootFiles ? { bootFiles: c.bootFiles } : {}),
    ...(c.pxeMenu ? { pxeMenu: c.pxeMenu } : {}),
    ...(c.allow ? { allow: c.allow.map((m) => normalizeMac(m) ?? m) } : {}),
    ...(c.deny ? { deny: c.deny.map((m) => normalizeMac(m) ?? m) } : {}),
    hasFile: cachedExists(
      (name) => existsSync(join(c.root, name)) || httpDirs.some((d) => existsSync(join(d, name))),
      clock,
    ),
    // Blocks and loop-breaker pauses live in the client model; the boot decision asks it per request.
    isBlocked: (mac: string) => book.exclusion(mac),
    // Secure Boot: which chain a UEFI x64 firmware request gets is the client model's per-MAC decision.
    chainFor: (mac: string, firmware: FirmwareKind) => book.chainFor(mac, firmware),
    ...(imageDir ? { signedHttpBootFile: SIGNED_BOOT_IMAGE } : {}),
  };
  if (c.mode === 'proxy') {
    const proxy = await factory.proxy({
      ...common,
      transport,
      serverAddress: v.address,
      boot,
      ...(c.vendorOptions ? { vendorOptions: parseVendorOptions(c.vendorOptions) } : {}),
    });
    await startOne(proxy);
    endpoints.proxy = `${v.address}:${ports.dhcp ?? 67}+${ports.proxy ?? 4011}`;
  } else {
    const dhcp = await factory.dhcp({ ...common, transport, serverAddress: v.address, pool: c.dhcp!, boot });
    await startOne(dhcp);
    endpoints.dhcp = `${v.address}:${ports.dhcp ?? 67}`;
  }
}
