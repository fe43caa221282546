/**
 * The lab with dnsmasq as the server: proves the lab itself (namespaces, site DHCP + RA, QEMU BIOS and
 * UEFI, fixtures) and gives the reference time for the benchmark line beside PXE Desk.
 */
import { describe, expect, it } from 'vitest';
import { haveNetns, haveTools } from '../helpers/tools.js';
import { CASES, selected, servers } from './cases.js';
import { benchLine, createLabRun, LAB_TOOLS } from './lab.js';

const enabled = haveNetns() && haveTools(...LAB_TOOLS) && servers().includes('dnsmasq');

describe.skipIf(!enabled)('lab with dnsmasq (reference)', () => {
  for (const c of CASES.filter((k) => !k.pxeDeskOnly)) {
    it.skipIf(!selected(c.name))(`${c.name} boots to the marker`, async () => {
      const run = await createLabRun(`ref-${c.name}`);
      let failed = true;
      try {
        await run.startServer('dnsmasq', c.mode);
        const r = await run.boot(c.fw);
        benchLine(c.name, 'dnsmasq', r.seconds);
        expect(r.ok, `no marker; see ${r.dir}`).toBe(true);
        expect(r.fw).toBe(c.fw === 'bios' ? 'bios' : 'uefi');
        expect(r.cmdline).toContain(`pxelab=${c.fw === 'bios' ? 'pcbios' : 'efi'}-ref`);
        failed = false;
      } finally {
        await run.finish(failed);
      }
    });
  }
});
