/**
 * Foreign LAN with real firmware (issue 10): the site's DHCP server (dnsmasq) hands out a boot file of
 * its own (`pxelinux.0`, which it does not even serve), PXE Desk runs in proxy mode next to it, and a
 * QEMU guest network-boots. What the firmware does is its business; what PXE Desk must do is show it:
 * the probe warns before serving and the guest's diagnosis names the site server's boot file, which
 * the pcap proves the firmware really asked for.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/netns.js';
import { builtCliIsFresh } from '../integration/cli-run.js';
import { selected, servers } from './cases.js';
import {
  createLabRun,
  GUEST_MAC,
  LAB_TOOLS,
  REPO,
  SITE_DNSMASQ_ARGS,
  SITE_IP,
  requestedFiles,
  type Firmware,
} from './lab.js';

const enabled = haveNetns() && haveTools(...LAB_TOOLS) && servers().includes('pxe-desk');

interface ClientLike {
  mac?: string;
  stage?: string;
  timeline?: { text: string }[];
  diagnoses?: { code: string; text: string }[];
}

function lastClient(events: readonly Record<string, unknown>[], mac: string): ClientLike | undefined {
  let last: ClientLike | undefined;
  for (const e of events)
    if (e.type === 'client' && (e.client as ClientLike | undefined)?.mac === mac)
      last = e.client as ClientLike;
  return last;
}

describe.skipIf(!enabled)('foreign LAN with real firmware (site server sends its own boot file)', () => {
  for (const fw of ['uefi', 'bios'] as Firmware[]) {
    const name = `foreign-site-boot-${fw}`;
    it.skipIf(!selected(name))(
      `${name}: probe warning; the firmware follows the site's boot file and the diagnosis says so`,
      async () => {
        const run = await createLabRun(name);
        let failed = true;
        try {
          // The site: leases addresses and names a boot file on itself (no TFTP there).
          const site = run.net.spawn('site', '/usr/sbin/dnsmasq', [
            ...SITE_DNSMASQ_ARGS,
            `--log-facility=${join(run.dir, 'site-boot.log')}`,
            `--dhcp-leasefile=${join(run.dir, 'site-boot.leases')}`,
            '--dhcp-range=192.168.77.100,192.168.77.150,255.255.255.0,1h',
            `--dhcp-boot=pxelinux.0,,${SITE_IP}`,
          ]);
          site.stdout?.resume();
          site.stderr?.resume();
          // The built CLI when dist/ is at least as new as the sources, else the same main() through tsx.
          const fresh = builtCliIsFresh();
          const cli = fresh
            ? [join(REPO, 'bin', 'pxe-desk.js')]
            : ['--import', 'tsx', join(REPO, 'test', 'lab', 'run-cli.ts')];
          const desk = run.net.spawn(
            'srv',
            process.execPath,
            [
              ...cli,
              'serve',
              '--mode',
              'proxy',
              '--iface',
              'eth0',
              '--root',
              run.root,
              '--json',
              '--helper',
              'never',
            ],
            { cwd: REPO },
          );
          const events: Record<string, unknown>[] = [];
          let buf = '';
          desk.stdout?.on('data', (d: Buffer) => {
            buf += d.toString();
            const lines = buf.split('\n');
            buf = lines.pop() ?? '';
            for (const l of lines)
              if (l.startsWith('{')) events.push(JSON.parse(l) as Record<string, unknown>);
          });
          desk.stderr?.resume();
          await waitFor(
            () =>
              events.some((e) => e.type === 'state' && (e.snapshot as { state: string }).state === 'running'),
            30_000,
            'PXE Desk running',
          );
          const warnings = events.filter((e) => e.type === 'warning').map((e) => String(e.message));
          expect(warnings.join('\n')).toMatch(
            /already hands out boot options \(192\.168\.77\.2 \(boot file pxelinux\.0/,
          );

          // It never reaches the marker (see below): give it long enough to get to its iPXE stage.
          const result = await run.boot(fw, 45_000);
          // The finding comes 10 s (grace) after our last offer to the iPXE stage.
          await waitFor(
            () => lastClient(events, GUEST_MAC)?.diagnoses?.[0]?.code === 'site-boot-file',
            30_000,
            'site-boot-file diagnosis',
          ).catch(() => undefined);
          const guest = lastClient(events, GUEST_MAC);
          expect(guest, 'the guest appears in the timeline').toBeDefined();
          const texts = (guest?.timeline ?? []).map((t) => t.text);
          const codes = (guest?.diagnoses ?? []).map((d) => d.code);
          console.log(
            `${name}: booted=${result.ok} stage=${guest?.stage} diagnoses=${codes.join(',')}\n  ${texts.join('\n  ')}`,
          );
          // What this firmware does (iPXE 1.0.0+git-20190125, Debian's; OVMF): the iPXE stage prefers the
          // site's `filename` over our proxy offer and asks the site for pxelinux.0 — the wire shows it.
          expect(result.ok).toBe(false);
          expect(requestedFiles(run.pcapPath())).toContain('pxelinux.0');
          // The diagnosis says so, naming the site server and its file.
          expect(guest?.diagnoses?.[0]).toMatchObject({ code: 'site-boot-file' });
          expect(guest?.diagnoses?.[0]?.text).toMatch(
            /site server's boot file instead \(192\.168\.77\.2 → pxelinux\.0\)/,
          );
          // EDK2 broadcasts its DHCP, so the site's offer itself is in the timeline; iPXE's is unicast.
          if (fw === 'uefi')
            expect(texts).toContain('another DHCP server 192.168.77.2 answered 192.168.77.100 → pxelinux.0');
          failed = false;
        } finally {
          await run.finish(failed);
        }
      },
    );
  }
});
