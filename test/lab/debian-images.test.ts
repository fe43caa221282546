/**
 * Real third-party images Debian ships, booted by real firmware through PXE Desk in proxy mode (issue 18):
 *  - memtest86+ (package memtest86+): the ISO alone, and the .bin + .efi pair alone, reach memtest's
 *    screen: on BIOS read from the VGA text buffer through the QEMU monitor, on UEFI from a screendump of
 *    the GOP framebuffer (memtest writes nothing to the serial port unless told `console=ttyS0`);
 *  - the Debian installer netboot tree (debian-installer-12-netboot-amd64, text flavour) as the netboot
 *    folder, as unpacked: the installer kernel + initrd boot on BIOS and UEFI, proved by the installer's own
 *    DHCP request (vendor class `d-i`) on the wire. d-i asks for the language before it configures the
 *    network; `auto=true priority=critical` (the user's edit of the entry's command line) defers those
 *    questions, where a technician would press Enter three times;
 *  - a PyPXE-style folder (pxelinux.0, ldlinux.c32, menu.c32, pxelinux.cfg/default) served with
 *    `-i pxelinux.0` boots a BIOS client through the pxelinux menu to the kernel.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetbootLibrary } from '../../app/core/netboot-library.js';
import { ensureFixtures } from '../fixtures/fixtures.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { pxeDeskCliReady, selected } from './cases.js';
import { clientProblems, tableLine } from './client-checks.js';
import { benchLine, createLabRun, LAB_TOOLS, type BootOptions, type LabRun } from './lab.js';
import {
  monitorArgs,
  monitorCommand,
  pixelShare,
  screenPixels,
  vgaText,
  type Screen,
} from './qemu-monitor.js';

const enabled = haveNetns() && haveTools(...LAB_TOOLS) && pxeDeskCliReady();

type Kind = 'memtest-iso' | 'memtest-files' | 'di-netboot' | 'pxelinux';
interface ImageCase {
  readonly name: string;
  readonly kind: Kind;
  readonly fw: 'bios' | 'uefi';
}

const IMAGE_CASES: readonly ImageCase[] = [
  { name: 'memtest-iso-bios', kind: 'memtest-iso', fw: 'bios' },
  { name: 'memtest-iso-uefi', kind: 'memtest-iso', fw: 'uefi' },
  { name: 'memtest-files-bios', kind: 'memtest-files', fw: 'bios' },
  { name: 'memtest-files-uefi', kind: 'memtest-files', fw: 'uefi' },
  { name: 'di-netboot-bios', kind: 'di-netboot', fw: 'bios' },
  { name: 'di-netboot-uefi', kind: 'di-netboot', fw: 'uefi' },
  { name: 'pxelinux-menu-bios', kind: 'pxelinux', fw: 'bios' },
];

/** memtest86+ 6.x's running screen: its name and the status line of a test in progress. */
const MEMTEST_SCREEN = /Memtest86\+[\s\S]*Status: Testing|Status: Testing[\s\S]*Memtest86\+/;

/**
 * memtest86+'s EFI build draws on the GOP framebuffer only (its serial mirror needs `console=ttyS0` on a
 * command line that iPXE's `chain` of a library entry does not pass): its screen is blue over most of the
 * area with a light grey key bar at the bottom, where OVMF and iPXE leave black with grey text.
 */
function memtestGopScreen(s: Screen): boolean {
  const blue = pixelShare(s, (r, g, b) => r < 60 && g < 60 && b > 120);
  const bar = pixelShare(
    s,
    (r, g, b) => r > 140 && g > 140 && b > 140,
    Math.floor(s.height * 0.88),
    Math.floor(s.height * 0.93),
  );
  return blue > 0.4 && bar > 0.4;
}

/** Calls `f` at most every `ms` (the lab polls `until` every 200 ms; a monitor or tcpdump round costs more). */
function throttled(ms: number, f: () => Promise<boolean> | boolean): () => Promise<boolean> {
  let last = 0;
  return async () => {
    if (Date.now() - last < ms) return false;
    last = Date.now();
    return f();
  };
}

/** The DHCP requests on the lab's wire that carry vendor class `d-i` (the installer's own netcfg). */
function diRequests(pcap: string): number {
  try {
    const out = execFileSync('tcpdump', ['-r', pcap, '-nn', '-vv', 'udp dst port 67'], {
      encoding: 'latin1',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return (out.match(/Vendor-Class[^\n]*"d-i"/g) ?? []).length;
  } catch {
    return 0;
  }
}

/** Fill the netboot folder; returns what the boot must see and the server's extra arguments. */
async function prepare(run: LabRun, c: ImageCase): Promise<{ options: BootOptions; extra: string[] }> {
  const fx = ensureFixtures();
  const root = run.root;
  const mt = fx.memtestDir;
  if (c.kind !== 'pxelinux') {
    rmSync(join(root, 'vmlinuz'));
    rmSync(join(root, 'initrd.gz'));
  }
  const monitor = join(run.dir, 'monitor.sock');
  const vgaDump = join(run.dir, 'vga.bin');
  const screen: BootOptions =
    c.fw === 'bios'
      ? {
          qemuArgs: monitorArgs(monitor),
          until: throttled(2000, async () => MEMTEST_SCREEN.test((await vgaText(monitor, vgaDump)) ?? '')),
        }
      : {
          qemuArgs: monitorArgs(monitor),
          until: throttled(3000, async () => {
            const shot = await screenPixels(monitor, join(run.dir, 'screen-poll.ppm'));
            return shot !== undefined && memtestGopScreen(shot);
          }),
        };
  switch (c.kind) {
    case 'memtest-iso':
      copyFileSync(join(mt, 'memtest86+x64.iso'), join(root, 'memtest86+x64.iso'));
      return { options: screen, extra: [] };
    case 'memtest-files':
      copyFileSync(join(mt, 'memtest86+x64.bin'), join(root, 'memtest86+x64.bin'));
      copyFileSync(join(mt, 'memtest86+x64.efi'), join(root, 'memtest86+x64.efi'));
      return { options: screen, extra: [] };
    case 'di-netboot': {
      cpSync(fx.diNetbootDir, root, { recursive: true, verbatimSymlinks: true });
      const lib = new NetbootLibrary({ root });
      try {
        const entries = await lib.scan();
        const kernel = entries.find((e) => e.path === 'debian-installer/amd64/linux');
        expect(kernel, `entries: ${entries.map((e) => `${e.path} (${e.kind})`).join(', ')}`).toBeDefined();
        expect(kernel!.initrd).toBe('debian-installer/amd64/initrd.gz');
        // console=ttyS0: d-i's text frontend on the serial port (what it asks, if anything, is in the log)
        const own = kernel!.cmdline ?? '--- quiet';
        await lib.setEntryMeta(kernel!.id, {
          cmdline: `auto=true priority=critical console=ttyS0,115200 ${own}`,
        });
      } finally {
        lib.close();
      }
      const pcap = run.pcapPath();
      return {
        // 1 GiB: with the lab's 512 MiB the installer stops at its "Low memory mode" notice, which waits for a key
        options: {
          qemuArgs: [...monitorArgs(monitor), '-m', '1024'],
          until: throttled(3000, () => diRequests(pcap) > 0),
        },
        extra: [],
      };
    }
    case 'pxelinux':
      cpSync(fx.pxelinuxDir, root, { recursive: true });
      // The menu title on the console, then (timeout) the fixture kernel's marker: the boot's own wait.
      return { options: {}, extra: ['-i', 'pxelinux.0'] };
  }
}

describe.skipIf(!enabled)('Debian images through PXE Desk (proxy mode)', () => {
  for (const c of IMAGE_CASES) {
    const bootTimeout = c.kind === 'di-netboot' ? 600_000 : 240_000;
    it.skipIf(!selected(c.name))(
      `${c.name} reaches its goal`,
      { timeout: bootTimeout + 120_000 },
      async () => {
        const run = await createLabRun(c.name);
        let failed = true;
        let seconds = 0;
        let result = 'fail';
        try {
          const { options, extra } = await prepare(run, c);
          await run.startServer('pxe-desk', 'proxy', extra);
          const r = await run.boot(c.fw, bootTimeout, options);
          seconds = r.seconds;
          const files = readdirSync(run.root).join(', ');
          if (c.kind === 'pxelinux') {
            expect(r.serial).toContain('PXE-LAB pxelinux menu');
            expect(r.ok, `no kernel marker; folder: ${files}`).toBe(true);
            expect(r.cmdline).toContain('pxelab=pxelinux-menu');
          } else {
            expect(r.reached, `goal not reached (${c.kind}); folder: ${files}`).toBe(true);
          }
          expect(clientProblems(r.events, run.pcapPath())).toEqual([]);
          benchLine(c.name, 'pxe-desk', r.seconds);
          result = 'ok';
          failed = false;
        } finally {
          tableLine({ case: c.name, server: 'pxe-desk', fw: c.fw, time: `${seconds.toFixed(1)}s`, result });
          // What the guest's screen showed, kept with the artefacts of a failed case (PPM).
          const monitor = join(run.dir, 'monitor.sock');
          if (failed && existsSync(monitor)) {
            await monitorCommand(monitor, `screendump "${join(run.dir, 'screen.ppm')}"`).catch(() => '');
            const text = await vgaText(monitor, join(run.dir, 'vga.bin'));
            if (text) writeFileSync(join(run.dir, 'vga.txt'), text);
          }
          await run.finish(failed);
        }
      },
    );
  }
});
