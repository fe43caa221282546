import { describe, expect, it } from 'vitest';
import type { BootConfig, BootRequest } from '../../app/engines/dhcp/boot-decision.js';
import {
  decideBoot,
  decideBootItem,
  exclusionOf,
  firmwareOfRequest,
} from '../../app/engines/dhcp/boot-decision.js';
import { isNetbootClient, netbootClassOf } from '../../app/engines/dhcp/netboot-client.js';
import type { RefusalCode } from '../../app/shared/events.js';
import { FIRMWARE_LABEL, firmwareLabel } from '../../app/shared/firmware.js';

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
/** The refusal code of a plan that must be a refusal. */
const code = (req: BootRequest, c: BootConfig = cfg): RefusalCode => {
  const plan = decideBoot(req, c);
  if (plan.kind !== 'refuse') throw new Error(`served ${plan.bootFile}`);
  return plan.code;
};
const file = (req: BootRequest, c: BootConfig = cfg) => {
  const plan = decideBoot(req, c);
  if (plan.kind !== 'boot') throw new Error(`refused: ${plan.reason}`);
  return plan;
};

describe('decideBoot', () => {
  it("an operator's non-iPXE boot file (-i pxelinux.0) goes to an iPXE NIC ROM too; an iPXE binary never", () => {
    const rom = pxe(0, { userClasses: ['iPXE'] });
    expect(file(rom).bootFile).toMatch(/boot\.ipxe/);
    expect(file(rom, { ...cfg, bootFiles: { bios: 'pxelinux.0' } }).bootFile).toBe('pxelinux.0');
    for (const own of ['undionly.kpxe', 'ipxe.pxe', 'bin/ipxe.lkrn'])
      expect(file(rom, { ...cfg, bootFiles: { bios: own } }).bootFile).toMatch(/boot\.ipxe/);
  });
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
      expect(code(pxe(a))).toBe('no-boot-file');
    }
    expect(file(pxe(11), { ...cfg, bootFiles: { 'uefi-arm64': 'snp-arm64.efi' } }).bootFile).toBe(
      'snp-arm64.efi',
    );
    const missing = decideBoot(pxe(6), { ...cfg, bootFiles: { 'uefi-ia32': 'x.efi' }, hasFile: () => false });
    expect(missing.kind).toBe('refuse');
    expect(missing.kind === 'refuse' && missing.code).toBe('boot-file-missing');
    // The reason names the firmware with the one shared label.
    expect(missing.kind === 'refuse' && missing.reason).toBe(
      `boot file x.efi for ${FIRMWARE_LABEL['uefi-ia32']} is missing`,
    );
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
    expect(code({ mac, archs: [19], vendorClass: 'HTTPClient:Arch:00019:UNDI:003000' })).toBe('no-boot-file');
    // PXEClient with an HTTP boot architecture: a mismatch, not a file problem.
    expect(code({ mac, archs: [16], vendorClass: 'PXEClient:Arch:00016' })).toBe('http-arch-mismatch');
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
    expect(file({ ...pxe(7), archs: [99, 7, 6] }).arch).toBe(7);
  });
  it('firmwareOfRequest: the pair the decision serves (first known arch), else the first as unknown', () => {
    expect(firmwareOfRequest([99, 7, 6])).toEqual({ arch: 7, firmware: 'uefi-x64' });
    expect(firmwareOfRequest([0])).toEqual({ arch: 0, firmware: 'bios' });
    expect(firmwareOfRequest([41, 42])).toEqual({ arch: 41, firmware: 'unknown' });
    expect(firmwareOfRequest([])).toBeUndefined();
    expect(firmwareOfRequest(undefined)).toBeUndefined();
    // The refusal of an unknown list names the same pair.
    const r = decideBoot({ ...pxe(41), archs: [41, 42] }, cfg);
    expect(r).toMatchObject({ kind: 'refuse', code: 'unsupported-arch', arch: 41, firmware: 'unknown' });
  });
  it('per-MAC override, allow/deny, isBlocked all give reasons', () => {
    expect(file(pxe(0), { ...cfg, perMac: { [mac]: { bootFile: 'pxelinux.0' } } }).bootFile).toBe(
      'pxelinux.0',
    );
    const deny = decideBoot(pxe(0), { ...cfg, deny: [mac.toUpperCase()] });
    expect(deny.kind === 'refuse' && deny.reason).toMatch(/deny list/);
    const allow = decideBoot(pxe(0), { ...cfg, allow: ['00:11:22:33:44:55'] });
    expect(allow.kind === 'refuse' && allow.reason).toMatch(/allow list/);
    const paused = decideBoot(pxe(0), {
      ...cfg,
      isBlocked: () => ({ kind: 'paused', reason: 'booted 5 times in a minute' }),
    });
    expect(paused.kind === 'refuse' && paused.reason).toBe('booted 5 times in a minute');
  });
  it('exclusions are codes: deny list, allow list, blocked and paused told apart without reading text', () => {
    expect(code(pxe(0), { ...cfg, deny: [mac.toUpperCase()] })).toBe('deny-list');
    expect(code(pxe(0), { ...cfg, allow: ['00:11:22:33:44:55'] })).toBe('not-in-allow-list');
    const blocked = { kind: 'blocked', reason: 'blocked by the operator' } as const;
    const paused = { kind: 'paused', reason: 'loop breaker' } as const;
    expect(code(pxe(0), { ...cfg, isBlocked: () => blocked })).toBe('blocked');
    expect(code(pxe(0), { ...cfg, isBlocked: () => paused })).toBe('paused');
    // The deny list wins over the session's own exclusions; an allowed, unblocked MAC is not excluded.
    expect(exclusionOf(mac, { deny: [mac], isBlocked: () => blocked })).toEqual({
      code: 'deny-list',
      reason: `${mac} is on the deny list`,
    });
    expect(
      exclusionOf(mac.replace(/:/g, '-'), { isBlocked: (m) => (m === mac ? paused : undefined) }),
    ).toEqual({
      code: 'paused',
      reason: 'loop breaker',
    });
    expect(exclusionOf(mac, { allow: [mac], isBlocked: () => undefined })).toBeUndefined();
    // A MAC spelt in capitals (a list, a block from the UI) is the same machine as the decoded one.
    expect(exclusionOf(mac.toUpperCase(), { deny: [mac] })?.code).toBe('deny-list');
    expect(exclusionOf(mac.toUpperCase().replace(/:/g, '-'), { allow: [mac] })).toBeUndefined();
    // Excluded before anything else: even a plain DHCP client is refused as excluded.
    expect(code({ mac, vendorClass: 'MSFT 5.0' }, { ...cfg, deny: [mac] })).toBe('deny-list');
  });
  it('D23/D24/D25 vendor class prefix, case-sensitive; unknown arch refused', () => {
    expect(file({ mac, archs: [0], vendorClass: 'PXEClient' }).bootFile).toBe('undionly.kpxe');
    expect(file({ mac, archs: [0], vendorClass: 'PXEClient\0Arch' }).bootFile).toBe('undionly.kpxe');
    expect(decideBoot({ mac, archs: [0], vendorClass: 'pxeclient:Arch' }, cfg).kind).toBe('refuse');
    expect(decideBoot({ mac, archs: [0], vendorClass: 'PXEClien' }, cfg).kind).toBe('refuse');
    expect(decideBoot({ mac, vendorClass: 'PXEClient' }, cfg).kind).toBe('refuse');
    const r = decideBoot(pxe(41), cfg);
    expect(r.kind === 'refuse' && r.reason).toMatch(/unsupported/);
    expect(code({ mac, archs: [0], vendorClass: 'pxeclient:Arch' })).toBe('not-netboot');
    expect(code({ mac, archs: [0] })).toBe('not-netboot');
    expect(code({ mac, vendorClass: 'PXEClient' })).toBe('no-arch');
    expect(code(pxe(41))).toBe('unsupported-arch');
  });
  it('4011 item refusals carry codes (P10/P11)', () => {
    const item = (type: number, layer: number, c: BootConfig = cfg) => {
      const plan = decideBootItem(pxe(0), c, type, layer);
      return plan.kind === 'refuse' ? plan.code : plan.bootFile;
    };
    expect(item(0x8000, 0)).toBe('undionly.kpxe');
    expect(item(0x8000, 0x8000)).toBe('bis-unsupported');
    expect(item(0, 0)).toBe('local-boot');
    expect(item(0x8005, 0)).toBe('unknown-menu-item');
    const menu = { items: [{ label: 'A', bootFile: 'gone.0' }] };
    expect(item(0x8000, 0, { ...cfg, pxeMenu: menu, hasFile: (n) => n !== 'gone.0' })).toBe(
      'boot-file-missing',
    );
    expect(item(0x8000, 0, { ...cfg, deny: [mac] })).toBe('deny-list');
  });
});

describe('netboot client test (one function for engines, codec and probe)', () => {
  it('PXEClient/HTTPClient prefix, case-sensitive, on text or raw option bytes (D23-D25)', () => {
    expect(netbootClassOf('PXEClient:Arch:00000:UNDI:002001')).toBe('PXEClient');
    expect(netbootClassOf('HTTPClient:Arch:00016')).toBe('HTTPClient');
    expect(netbootClassOf(Buffer.from('PXEClient\0', 'latin1'))).toBe('PXEClient');
    expect(netbootClassOf(Buffer.from('HTTPClient', 'latin1'))).toBe('HTTPClient');
    for (const no of ['pxeclient', 'PXEClien', 'MSFT 5.0', '', ' PXEClient'])
      expect(isNetbootClient(no), no).toBe(false);
    expect(isNetbootClient(Buffer.from('PXECli', 'latin1'))).toBe(false);
    expect(isNetbootClient(undefined)).toBe(false);
  });
});

describe('firmware labels (one table)', () => {
  it('every kind has one label; unknown strings are shown as they are', () => {
    expect(firmwareLabel('uefi-arm64')).toBe(FIRMWARE_LABEL['uefi-arm64']);
    expect(new Set(Object.values(FIRMWARE_LABEL)).size).toBe(Object.keys(FIRMWARE_LABEL).length);
    expect(firmwareLabel('riscv-thing')).toBe('riscv-thing');
    expect(firmwareLabel('toString')).toBe('toString');
  });
});
