import { describe, expect, it } from 'vitest';
import type { BootConfig, BootRequest } from '../../app/core/boot-decision.js';
import { decideBoot } from '../../app/core/boot-decision.js';

const cfg: BootConfig = {
  mode: 'proxy',
  serverAddress: '10.0.0.1',
  tftpServer: '10.0.0.1',
  httpBaseUrl: 'http://10.0.0.1:8080',
};
const mac = '52:54:00:aa:bb:cc';
const pxe = (arch: number, extra: Partial<BootRequest> = {}): BootRequest => ({
  mac,
  archs: [arch],
  vendorClass: `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`,
  ...extra,
});
const file = (req: BootRequest, c: BootConfig = cfg) => {
  const plan = decideBoot(req, c);
  if (plan.kind !== 'boot') throw new Error(`refused: ${plan.reason}`);
  return plan;
};

describe('decideBoot', () => {
  it('I1 BIOS firmware gets undionly.kpxe from TFTP', () => {
    const p = file(pxe(0));
    expect(p.bootFile).toBe('undionly.kpxe');
    expect(p.firmware).toBe('bios');
    expect(p.nextServer).toBe('10.0.0.1');
    expect(p.vendorClass).toBe('PXEClient');
  });
  it('UEFI x64 (7, 9, 2, 8) gets snponly.efi, ipxe.efi when snponly is missing (U1)', () => {
    for (const a of [7, 9, 2, 8]) expect(file(pxe(a)).bootFile).toBe('snponly.efi');
    expect(file(pxe(7), { ...cfg, hasFile: (n) => n === 'ipxe.efi' }).bootFile).toBe('ipxe.efi');
  });
  it('IA32 and ARM64 only with a configured file, else a reason', () => {
    for (const a of [6, 11]) {
      const r = decideBoot(pxe(a), cfg);
      expect(r.kind).toBe('refuse');
      if (r.kind === 'refuse') expect(r.reason).toMatch(/no boot file/);
    }
    expect(file(pxe(11), { ...cfg, bootFiles: { 'uefi-arm64': 'snp-arm64.efi' } }).bootFile).toBe(
      'snp-arm64.efi',
    );
    const missing = decideBoot(pxe(6), { ...cfg, bootFiles: { 'uefi-ia32': 'x.efi' }, hasFile: () => false });
    expect(missing.kind).toBe('refuse');
  });
  it('U3/U4 HTTP boot gets an IP-literal URL with port and HTTPClient', () => {
    const p = file({ mac, archs: [16], vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' });
    expect(p.bootFile).toBe('http://10.0.0.1:8080/snponly.efi');
    expect(p.vendorClass).toBe('HTTPClient');
  });
  it('U5 arm64 HTTP boot with no file: refusal', () => {
    expect(decideBoot({ mac, archs: [19], vendorClass: 'HTTPClient:Arch:00019:UNDI:003000' }, cfg).kind).toBe(
      'refuse',
    );
  });
  it('I2/I3/I4/I6 iPXE gets the script URL, never the binary', () => {
    const url = `http://10.0.0.1:8080/boot.ipxe?mac=${mac}&arch=bios`;
    expect(file(pxe(0, { userClasses: ['iPXE'] })).bootFile).toBe(url);
    expect(file(pxe(0, { hasIpxeEncap: true, userClasses: ['ThinClient'] })).bootFile).toBe(url);
    const efi = file(pxe(7, { userClasses: ['iPXE'] }));
    expect(efi.bootFile).toBe(`http://10.0.0.1:8080/boot.ipxe?mac=${mac}&arch=uefi-x64`);
    expect(efi.ipxeNoProxyWait).toBe(false);
    expect(file(pxe(7, { hasIpxeEncap: true }), { ...cfg, mode: 'dhcp' }).ipxeNoProxyWait).toBe(true);
  });
  it('I5 user class match is exact by default', () => {
    expect(file(pxe(0, { userClasses: ['iPXEfoo'] })).bootFile).toBe('undionly.kpxe');
    expect(file(pxe(0, { userClasses: ['xiPXE'] })).bootFile).toBe('undionly.kpxe');
  });
  it('U2 first known arch in the list wins', () => {
    expect(file({ ...pxe(7), archs: [99, 7, 6] }).firmware).toBe('uefi-x64');
  });
  it('per-MAC override, allow/deny, isBlocked all give reasons', () => {
    expect(file(pxe(0), { ...cfg, perMac: { [mac]: { bootFile: 'pxelinux.0' } } }).bootFile).toBe(
      'pxelinux.0',
    );
    const deny = decideBoot(pxe(0), { ...cfg, deny: [mac.toUpperCase()] });
    expect(deny.kind === 'refuse' && deny.reason).toMatch(/deny list/);
    const allow = decideBoot(pxe(0), { ...cfg, allow: ['00:11:22:33:44:55'] });
    expect(allow.kind === 'refuse' && allow.reason).toMatch(/allow list/);
    const blocked = decideBoot(pxe(0), { ...cfg, isBlocked: () => 'booted 5 times in a minute' });
    expect(blocked.kind === 'refuse' && blocked.reason).toBe('booted 5 times in a minute');
  });
  it('D23/D24/D25 vendor class prefix, case-sensitive; unknown arch refused', () => {
    expect(file({ mac, archs: [0], vendorClass: 'PXEClient' }).bootFile).toBe('undionly.kpxe');
    expect(file({ mac, archs: [0], vendorClass: 'PXEClient\0Arch' }).bootFile).toBe('undionly.kpxe');
    expect(decideBoot({ mac, archs: [0], vendorClass: 'pxeclient:Arch' }, cfg).kind).toBe('refuse');
    expect(decideBoot({ mac, archs: [0], vendorClass: 'PXEClien' }, cfg).kind).toBe('refuse');
    expect(decideBoot({ mac, vendorClass: 'PXEClient' }, cfg).kind).toBe('refuse');
    const r = decideBoot(pxe(41), cfg);
    expect(r.kind === 'refuse' && r.reason).toMatch(/unsupported/);
  });
});
