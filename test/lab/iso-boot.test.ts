/**
 * Drop an ISO, boot it (issue 18): each live family's ISO (test/fixtures/family-isos.ts) is the only file in
 * the netboot folder; PXE Desk runs in proxy mode next to the site's DHCP server; real firmware (SeaBIOS +
 * iPXE ROM, OVMF) boots the ISO's default entry. The payload initramfs inside the ISO plays the distribution's
 * initramfs: it downloads what the family's root argument names and prints the token and sha256 of what
 * arrived, so the marker proves the kernel found its root over HTTP. A missing or wrong root argument fails
 * (case iso-dracut-bios-no-root proves that by taking root= out of the entry, as a user's edit would).
 *
 * `LAB_ISO_REFERENCE=1` (or LAB_SERVERS naming dnsmasq, as bench/lab-bench.sh sets it) also boots each ISO
 * through the reference (dnsmasq proxy + busybox httpd on the extracted files + a hand-written iPXE script)
 * for the time comparison in the bench line.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetbootLibrary } from '../../app/core/netboot-library.js';
import { isoEntryMetaKey, type IsoBootEntry } from '../../app/shared/iso-boot-types.js';
import type { LibraryEntry } from '../../app/shared/library-types.js';
import { ISO_MARKER_RE, parseIsoMarker, type IsoMarker } from '../fixtures/fixtures.js';
import { buildFamilyIso, LAB_FAMILIES, type FamilyIso, type LabFamily } from '../fixtures/family-isos.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { pxeDeskCliReady, selected, servers } from './cases.js';
import { clientProblems, tableLine } from './client-checks.js';
import { benchLine, createLabRun, HTTP_PORT, LAB_TOOLS, SRV_IP, type LabRun } from './lab.js';

const ISO_TOOLS = ['xorriso', 'grub-mkimage', 'mformat', 'mcopy', 'gzip'];
const enabled = haveNetns() && haveTools(...LAB_TOOLS, ...ISO_TOOLS) && pxeDeskCliReady();
const viaPxeDesk = servers().includes('pxe-desk');
// The reference doubles every boot: only when asked (LAB_ISO_REFERENCE=1, or bench/lab-bench.sh's LAB_SERVERS).
const reference =
  process.env.LAB_ISO_REFERENCE === '1' || (process.env.LAB_SERVERS ?? '').split(',').includes('dnsmasq');
const BOOT_TIMEOUT = 300_000;

interface IsoCase {
  readonly name: string;
  readonly family: LabFamily;
  readonly fw: 'bios' | 'uefi';
  /** Take the root argument out of the default entry's command line (the user's edit): must FAIL. */
  readonly dropRoot?: boolean;
}

const ISO_CASES: readonly IsoCase[] = [
  ...LAB_FAMILIES.flatMap((family) =>
    (['bios', 'uefi'] as const).map((fw) => ({ name: `iso-${family}-${fw}`, family, fw })),
  ),
  { name: 'iso-dracut-bios-no-root', family: 'dracut', fw: 'bios', dropRoot: true },
];

/** The route the issue asks for, per family: casper loads the ISO into RAM, the others stream their root. */
const ROUTE: Record<LabFamily, IsoBootEntry['route']> = {
  casper: 'kernel-iso-ram',
  'live-boot': 'kernel-root-http',
  dracut: 'kernel-root-http',
  archiso: 'kernel-root-http',
};

/** Library entry of the ISO once analysed (the analysis runs in the background of a scan). */
async function analysedIso(
  root: string,
  iso: FamilyIso,
): Promise<{ lib: NetbootLibrary; entry: LibraryEntry }> {
  const lib = new NetbootLibrary({ root });
  await lib.scan();
  const entries = await lib.analysed(60_000);
  const entry = entries.find((e) => e.path === iso.fileName);
  expect(entry, `library entries: ${entries.map((e) => `${e.path} (${e.kind})`).join(', ')}`).toBeDefined();
  return { lib, entry: entry! };
}

function defaultFor(entry: LibraryEntry, fw: 'bios' | 'uefi'): IsoBootEntry | undefined {
  return entry.iso?.entries.find((e) => e.isDefault && e.firmware.includes(fw));
}

function expectRootReached(m: IsoMarker | undefined, c: IsoCase, iso: FamilyIso): void {
  expect(m, 'no PXE-LAB-ISO marker on the serial console').toBeDefined();
  expect(m!.reason, 'the payload said FAIL').toBeUndefined();
  expect(m!.ok).toBe(true);
  expect(m!.family).toBe(c.family);
  expect(m!.fw).toBe(c.fw);
  // What the root argument named arrived whole: the ISO's token and the very bytes the ISO holds.
  expect(m!.token).toBe(iso.token);
  expect(m!.bytes).toBe(iso.rootBytes);
  expect(m!.sha256).toBe(iso.rootSha256);
  expect(m!.extras).toEqual(iso.extras);
  // ... served from inside the image (no extraction): the ISO's URL, then the path inside it
  expect(m!.url).toContain(`/${iso.fileName}`);
  if (iso.rootPath) expect(m!.url!.endsWith(`/${iso.rootPath}`), m!.url).toBe(true);
}

describe.skipIf(!enabled || !viaPxeDesk)('ISO boot through PXE Desk (proxy mode)', () => {
  for (const c of ISO_CASES) {
    const goal = c.dropRoot
      ? 'without its root argument the payload says FAIL'
      : "the ISO's default entry finds its root over HTTP";
    it.skipIf(!selected(c.name))(`${c.name}: ${goal}`, { timeout: BOOT_TIMEOUT + 120_000 }, async () => {
      const run = await createLabRun(c.name);
      let failed = true;
      let route = '?';
      let seconds = 0;
      let result = 'fail';
      try {
        // only the ISO in the netboot folder
        rmSync(join(run.root, 'vmlinuz'));
        rmSync(join(run.root, 'initrd.gz'));
        const iso = buildFamilyIso(c.family, run.root);
        const { lib, entry } = await analysedIso(run.root, iso);
        try {
          expect(entry.kind).toBe('iso');
          expect(entry.iso, 'the library has no ISO analysis for the entry').toBeDefined();
          expect(entry.iso!.family).toBe(c.family);
          const def = defaultFor(entry, c.fw);
          expect(def, `no default entry for ${c.fw}: ${JSON.stringify(entry.iso!.entries)}`).toBeDefined();
          route = def!.route;
          expect(def!.route).toBe(ROUTE[c.family]);
          if (c.dropRoot) {
            const without = (def!.cmdline ?? '')
              .split(/\s+/)
              .filter((w) => !w.startsWith('root='))
              .join(' ');
            await lib.setEntryMeta(isoEntryMetaKey(entry.id, def!.id), { cmdline: without });
          }
        } finally {
          lib.close();
        }
        await run.startServer('pxe-desk', 'proxy');
        const r = await run.boot(c.fw, BOOT_TIMEOUT, { stopOn: ISO_MARKER_RE });
        seconds = r.seconds;
        const marker = parseIsoMarker(r.serial);
        if (c.dropRoot) {
          // The payload must refuse: this is what makes every other case able to fail.
          expect(marker?.ok, `marker: ${JSON.stringify(marker)}`).toBe(false);
          expect(marker?.reason).toMatch(/root=/);
        } else {
          expectRootReached(marker, c, iso);
          benchLine(c.name, 'pxe-desk', r.seconds);
        }
        expect(clientProblems(r.events, run.pcapPath())).toEqual([]);
        // The kernel, initrd and live root left through the native body path (sendfile), as on any
        // Linux session with the built binary.
        const messages = r.events.flatMap((e) =>
          e.type === 'log' ? [String((e.record as { message?: unknown } | undefined)?.message)] : [],
        );
        expect(messages, messages.join(' | ')).toContain('file bodies are sent by the native body path');
        result = 'ok';
        failed = false;
      } finally {
        tableLine({
          case: c.name,
          server: 'pxe-desk',
          family: c.family,
          fw: c.fw,
          route,
          time: `${seconds.toFixed(1)}s`,
          result,
        });
        await run.finish(failed);
      }
    });
  }
});

/** Hand-written reference boot of each family from the extracted files (what a technician writes today). */
const REF: Record<
  LabFamily,
  { kernel: string; initrds: string[]; args: (base: string, iso: FamilyIso) => string }
> = {
  casper: {
    kernel: 'casper/vmlinuz',
    initrds: ['casper/initrd'],
    args: (base, iso) => `ip=dhcp url=${base}/${iso.fileName} quiet splash ---`,
  },
  'live-boot': {
    kernel: 'live/vmlinuz',
    initrds: ['live/initrd.img'],
    args: (base, iso) => `boot=live components fetch=${base}/${stem(iso)}/live/filesystem.squashfs`,
  },
  dracut: {
    kernel: 'images/pxeboot/vmlinuz',
    initrds: ['images/pxeboot/initrd.img'],
    args: (base, iso) => `root=live:${base}/${stem(iso)}/LiveOS/squashfs.img rd.live.image quiet`,
  },
  archiso: {
    kernel: 'arch/boot/x86_64/vmlinuz-linux',
    initrds: ['arch/boot/intel-ucode.img', 'arch/boot/amd-ucode.img', 'arch/boot/x86_64/initramfs-linux.img'],
    args: (base, iso) => `archisobasedir=arch archiso_http_srv=${base}/${stem(iso)}/ ip=dhcp`,
  },
};

const stem = (iso: FamilyIso): string => iso.fileName.replace(/\.iso$/, '');

function referenceScript(run: LabRun, iso: FamilyIso): void {
  const base = `http://${SRV_IP}:${HTTP_PORT}`;
  const ref = REF[iso.family];
  const names = ref.initrds.map((p) => `initrd=${p.split('/').pop()}`).join(' ');
  const lines = [
    '#!ipxe',
    `kernel ${base}/${stem(iso)}/${ref.kernel} ${names} ${ref.args(base, iso)}`,
    ...ref.initrds.map((p) => `initrd ${base}/${stem(iso)}/${p}`),
    'boot',
    '',
  ];
  writeFileSync(join(run.root, 'ref.ipxe'), lines.join('\n'));
}

describe.skipIf(!enabled || !reference)('ISO boot reference (dnsmasq + extracted files)', () => {
  for (const c of ISO_CASES.filter((k) => !k.dropRoot)) {
    it.skipIf(!selected(c.name))(`${c.name} (reference)`, { timeout: BOOT_TIMEOUT + 120_000 }, async () => {
      const run = await createLabRun(`ref-${c.name}`);
      let failed = true;
      try {
        rmSync(join(run.root, 'vmlinuz'));
        rmSync(join(run.root, 'initrd.gz'));
        const iso = buildFamilyIso(c.family, run.root);
        mkdirSync(join(run.root, stem(iso)));
        execFileSync(
          'xorriso',
          ['-osirrox', 'on', '-indev', iso.path, '-extract', '/', join(run.root, stem(iso))],
          {
            stdio: 'ignore',
          },
        );
        await run.startServer('dnsmasq', 'proxy');
        referenceScript(run, iso); // after the start, which writes its own ref.ipxe
        const r = await run.boot(c.fw, BOOT_TIMEOUT, { stopOn: ISO_MARKER_RE });
        const marker = parseIsoMarker(r.serial);
        tableLine({
          case: c.name,
          server: 'dnsmasq',
          family: c.family,
          fw: c.fw,
          route: 'extracted',
          time: `${r.seconds.toFixed(1)}s`,
          result: marker?.ok ? 'ok' : 'fail',
        });
        expect(marker?.reason).toBeUndefined();
        expect(marker?.token).toBe(iso.token);
        expect(marker?.sha256).toBe(iso.rootSha256);
        benchLine(c.name, 'dnsmasq', r.seconds);
        failed = false;
      } finally {
        await run.finish(failed);
      }
    });
  }
});
