/**
 * Real firmware boots the fixture kernel through PXE Desk started the way a user starts it:
 * `pxe-desk serve --mode proxy|dhcp --iface eth0 --root <dir> --json --helper never` inside the lab's
 * server namespace. The marker's kernel command line proves which chain ran; the `--json` client
 * events prove the timeline the UI shows (MAC, firmware, files, final stage).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetbootLibrary } from '../../app/core/netboot-library.js';
import { waitFor } from '../helpers/netns.js';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { assertNobodyCanRead, buildHelperWithCapabilities } from '../integration/helper-build.js';
import { CASES, selected, servers, type LabCase } from './cases.js';
import {
  benchLine,
  createLabRun,
  offersFromServer,
  requestedFiles,
  GUEST_MAC,
  LAB_TOOLS,
  SRV_IP,
  type LabRun,
  type ServerOptions,
} from './lab.js';

const enabled = haveNetns() && haveTools(...LAB_TOOLS) && servers().includes('pxe-desk');
const KERNEL_ARGS = 'console=ttyS0,115200 loglevel=4 panic=-1';

/**
 * The kernel command line comes from the library metadata (`<root>/.pxe-desk/library.json`, through
 * NetbootLibrary's API); PXE Desk generates boot.ipxe from it. The tag proves which entry booted
 * (the generator escapes `${`, so the tag is static per case; the firmware comes from the marker).
 */
async function configureLibrary(run: LabRun, c: LabCase): Promise<string> {
  const lib = new NetbootLibrary({ root: run.root });
  if (c.name === 'bios-menu') {
    // (6) two entries, the default (second) chosen by the menu timeout: nobody presses a key.
    for (const d of ['first', 'second']) {
      mkdirSync(join(run.root, d));
      copyFileSync(join(run.root, 'vmlinuz'), join(run.root, d, 'vmlinuz'));
      copyFileSync(join(run.root, 'initrd.gz'), join(run.root, d, 'initrd.gz'));
    }
    rmSync(join(run.root, 'vmlinuz'));
    rmSync(join(run.root, 'initrd.gz'));
    const ids = (await lib.scan()).map((e) => e.id).sort();
    expect(ids).toEqual(['first/vmlinuz', 'second/vmlinuz']);
    await lib.setEntryMeta('first/vmlinuz', { cmdline: `${KERNEL_ARGS} pxelab=menu-first` });
    await lib.setEntryMeta('second/vmlinuz', { cmdline: `${KERNEL_ARGS} pxelab=menu-second` });
    await lib.setDefault('second/vmlinuz', 1);
    return 'pxelab=menu-second';
  }
  const ids = (await lib.scan()).map((e) => e.id);
  expect(ids).toContain('vmlinuz');
  await lib.setEntryMeta('vmlinuz', { cmdline: `${KERNEL_ARGS} pxelab=${c.name}` });
  // One entry and no timeout set: boot.ipxe boots it at once (no menu drawn), as a user gets by default.
  return `pxelab=${c.name}`;
}

interface ClientLike {
  mac?: unknown;
  firmware?: unknown;
  arch?: unknown;
  stage?: unknown;
  timeline?: unknown;
}

/** Last state of each client record in the `--json` timeline, by record key (MAC or `ip:<addr>`). */
function clientRecords(events: readonly Record<string, unknown>[]): Map<string, ClientLike> {
  const records = new Map<string, ClientLike>();
  for (const e of events) {
    if (e.type !== 'client' || typeof e.client !== 'object' || e.client === null) continue;
    const client = e.client as ClientLike & { ip?: unknown };
    records.set(String(client.mac), client);
  }
  return records;
}

function timelineFiles(client: ClientLike | undefined): string[] {
  if (!client || !Array.isArray(client.timeline)) return [];
  return (
    client.timeline
      // finished transfers only (they carry `bytes`; the start entry carries `size`)
      .map((t: unknown) =>
        t && typeof t === 'object' && 'file' in t && 'bytes' in t
          ? String((t as { file: unknown }).file)
          : '',
      )
      .filter(Boolean)
  );
}

/** `/proc/<pid>/status` fields (Uid, CapEff, …). */
function procStatus(pid: number): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return fields;
}

/** (5) The CLI (engines) runs as nobody with no capability; its child, the helper, dropped its own. */
async function expectUnprivileged(run: LabRun, helperPath: string): Promise<void> {
  // Only once the session runs has the helper bound and dropped its capabilities (a loaded machine
  // may take seconds to get there).
  const out = join(run.dir, 'pxe-desk.out');
  await waitFor(
    () => existsSync(out) && /"state":"(running|error)"/.test(readFileSync(out, 'utf8')),
    60_000,
    'the session running',
  );
  const pid = run.serverPid();
  expect(pid).toBeGreaterThan(0);
  const cli = procStatus(pid!);
  expect(cli.Uid?.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
  expect(cli.CapEff).toBe('0000000000000000');
  expect(cli.CapPrm).toBe('0000000000000000');
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  const helper = children.map(Number).find((c) => {
    try {
      return readFileSync(`/proc/${c}/cmdline`, 'utf8').startsWith(helperPath);
    } catch {
      return false;
    }
  });
  expect(helper, `helper ${helperPath} among the CLI's children ${children.join(' ')}`).toBeDefined();
  const h = procStatus(helper!);
  expect(h.Uid?.split(/\s+/)[1]).toBe('65534');
  // The file capabilities were used to bind 67/4011/69, then cleared (docs/helper.md).
  expect(h.CapEff).toBe('0000000000000000');
  expect(h.CapPrm).toBe('0000000000000000');
}

const helperTools = (c: LabCase): boolean => !c.viaHelper || haveTools('go', 'setcap', 'setpriv');

describe.skipIf(!enabled)('lab through PXE Desk', () => {
  for (const c of CASES) {
    it.skipIf(!selected(c.name) || !helperTools(c))(`${c.name} boots to the marker`, async () => {
      const run = await createLabRun(c.name);
      let failed = true;
      let helperDir: string | undefined;
      try {
        const wantTag = await configureLibrary(run, c);
        let options: ServerOptions = {};
        if (c.viaHelper) {
          // A temp copy gets the capabilities the deb's after-install hook would set; removed below.
          helperDir = mkdtempSync(join(tmpdir(), 'pxd-lab-helper-'));
          chmodSync(helperDir, 0o755);
          const helperPath = buildHelperWithCapabilities(helperDir);
          assertNobodyCanRead(helperPath, run.root);
          options = { helperPath, runAs: { uid: 65534, gid: 65534 } };
        }
        await run.startServer('pxe-desk', c.mode, [], options);
        if (options.helperPath) await expectUnprivileged(run, options.helperPath);
        const r = await run.boot(c.fw);
        benchLine(c.name, 'pxe-desk', r.seconds);
        expect(r.ok, `no marker; artefacts in artifacts/lab/${c.name}`).toBe(true);
        expect(r.fw).toBe(c.fw === 'bios' ? 'bios' : 'uefi');
        expect(r.cmdline).toContain(wantTag);
        // The firmware's TFTP downloads ran in the native data path (pxe-desk-tftp), as on any Linux
        // session with the built binary; as nobody too, in the helper cases.
        const messages = r.events.flatMap((e) =>
          e.type === 'log' ? [String((e.record as { message?: unknown } | undefined)?.message)] : [],
        );
        expect(messages, messages.join(' | ')).toContain('transfers run in the native data path');
        if (c.viaHelper) {
          // The session says which transport served: the helper relay, not direct sockets.
          const running = r.events.find(
            (e) => e.type === 'state' && (e.snapshot as { state?: unknown }).state === 'running',
          );
          expect((running?.snapshot as { transport?: unknown } | undefined)?.transport).toBe('helper');
        }

        // The timeline the UI shows: right MAC, firmware, the files, final stage.
        const records = clientRecords(r.events);
        const client = records.get(GUEST_MAC);
        expect(client, 'no client record for the guest MAC in the --json timeline').toBeDefined();
        expect(String(client!.firmware)).toMatch(c.fw === 'bios' ? /bios/ : /uefi/);
        // KNOWN GAP (proxy mode): the site server, not PXE Desk, hands out the address, so the session
        // cannot map the guest's IP to its MAC and files land in an `ip:<addr>` record. Merge it here
        // until the timeline learns the IP (from option 50 of the REQUEST or the ?mac= of boot.ipxe).
        // (The lab has one guest, so the only `ip:` record is its.)
        const byIp =
          c.mode === 'proxy' ? [...records.entries()].find(([k]) => k.startsWith('ip:'))?.[1] : undefined;
        const files = [...timelineFiles(client), ...timelineFiles(byIp)];
        expect(
          files.some((f) => f.includes('vmlinuz')),
          `files: ${files.join(', ')}`,
        ).toBe(true);
        expect(
          files.some((f) => f.includes('initrd.gz')),
          `files: ${files.join(', ')}`,
        ).toBe(true);
        expect((byIp ?? client)!.stage).toBe('booted');
        // UEFI through the helper: OVMF's RRQ reached the TFTP engine through the helper's port 69 (as
        // nobody the engine has no socket there of its own).
        if (c.viaHelper && c.fw === 'uefi') expect(files).toContain('snponly.efi');

        // (7) loop guard: iPXE is never handed an iPXE binary. Every iPXE binary in the timeline (one
        // name; EDK2's TFTP tsize probe may add a second entry) comes before the first boot.ipxe, i.e.
        // was fetched by the firmware, and the wire shows the same.
        const isBinary = (f: string): boolean => /\.(kpxe|efi|pxe)$/.test(f);
        const firstScript = files.findIndex((f) => f.startsWith('boot.ipxe'));
        expect(firstScript, `files: ${files.join(', ')}`).toBeGreaterThanOrEqual(0);
        const lateBinaries = files.slice(firstScript).filter(isBinary);
        expect(lateBinaries, 'iPXE binary served after iPXE took over (loop)').toEqual([]);
        expect(new Set(files.filter(isBinary)).size).toBeLessThanOrEqual(c.fw === 'bios' ? 0 : 1);
        const wire = requestedFiles(run.pcapPath());
        const wireScript = wire.findIndex((f) => f.startsWith('boot.ipxe'));
        expect(wireScript, `requests on the wire: ${wire.join(', ')}`).toBeGreaterThanOrEqual(0);
        expect(wire.slice(wireScript).filter(isBinary)).toEqual([]);
        expect(wire.filter(isBinary).length).toBeLessThanOrEqual(c.fw === 'bios' ? 0 : 2);

        if (c.fw === 'uefi-http') {
          // (8) OVMF's HTTP boot client: its offer carried option 60 HTTPClient and an http:// URL.
          expect(client!.timeline).toEqual(
            expect.arrayContaining([
              expect.objectContaining({ text: expect.stringMatching(/^OFFER .*http:\/\/.*\.efi$/) }),
            ]),
          );
          expect(offersFromServer(run.pcapPath(), SRV_IP)).toMatch(/HTTPClient/);
        }
        failed = false;
      } finally {
        await run.finish(failed);
        if (helperDir) rmSync(helperDir, { recursive: true, force: true });
      }
    });
  }
});
