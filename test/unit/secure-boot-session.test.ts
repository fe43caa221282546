/**
 * The Secure Boot setting through a session (issue 19): `SessionConfig.secureBoot` reaches the client
 * model, and the boot configuration the session hands the DHCP engines asks the client model per MAC
 * (`BootConfig.chainFor`). Fake engines record their options and emit the lab's events; no socket.
 */
import { describe, expect, it } from 'vitest';
import { SessionController } from '../../app/core/session/index.js';
import type { FirmwareKind } from '../../app/shared/events.js';
import type { BootChain, SecureBootMode } from '../../app/shared/secure-boot.js';
import { fakeEngines } from '../helpers/fake-engine.js';
import { MemoryTransport } from '../helpers/memory-transport.js';

async function started(secureBoot: SecureBootMode | undefined) {
  const { factory, engine } = fakeEngines(new MemoryTransport());
  const session = new SessionController({
    engines: factory,
    interfaces: async () => [
      { name: 'eth0', type: 'wired', up: true, ipv4: { address: '10.0.0.1', prefixLength: 24 } },
    ],
    folderExists: () => true,
    clientBatchMs: 0,
    runProbe: async (o) => ({
      iface: o.iface,
      probeMac: '02:00:00:00:00:01',
      startedAt: 0,
      durationMs: 0,
      servers: [],
      warnings: [],
    }),
  });
  const snap = await session.start({
    mode: 'proxy',
    root: '/nonexistent-netboot',
    iface: 'eth0',
    ...(secureBoot ? { secureBoot } : {}),
  });
  expect(snap.state).toBe('running');
  const proxy = engine('proxy')!;
  const tftp = engine('tftp')!;
  const boot = proxy.opts.boot as { chainFor?: (mac: string, fw: FirmwareKind) => BootChain };
  expect(typeof boot.chainFor).toBe('function');
  return { session, proxy, tftp, chainFor: boot.chainFor! };
}

const MAC = '52:54:00:5b:00:09';

describe('the session wires the setting and the per-MAC chain', () => {
  it('on: UEFI x64 signed, BIOS on iPXE; off: never signed', async () => {
    const on = await started('on');
    expect(on.chainFor(MAC, 'uefi-x64')).toBe('signed');
    expect(on.chainFor(MAC, 'uefi-x64-http')).toBe('signed');
    expect(on.chainFor(MAC, 'bios')).toBe('ipxe');
    await on.session.stop();
    const off = await started('off');
    expect(off.chainFor(MAC, 'uefi-x64')).toBe('ipxe');
    await off.session.stop();
  });

  it('auto (the default): the lab’s refusal through the engines’ events moves this MAC, and the row shows it', async () => {
    const s = await started(undefined);
    const client = { mac: MAC, arch: 7, firmware: 'uefi-x64' as const, netboot: true };
    expect(s.chainFor(MAC, 'uefi-x64')).toBe('ipxe');
    s.proxy.emit({ engine: 'proxy', type: 'discover', time: 1, client });
    s.proxy.emit({ engine: 'proxy', type: 'request', time: 2, client, ip: '10.0.0.50', server: '10.0.0.2' });
    s.proxy.emit({ engine: 'proxy', type: 'pxe-ack', time: 3, client, bootFile: 'snponly.efi' });
    const t = {
      engine: 'tftp' as const,
      transferId: 'x',
      client: { address: '10.0.0.50', port: 1000 },
      file: 'snponly.efi',
    };
    s.tftp.emit({ ...t, type: 'start', time: 4, bytes: 0 });
    s.tftp.emit({ ...t, type: 'done', time: 5, bytes: 174_080 });
    expect(s.chainFor('52:54:00:5b:00:0a', 'uefi-x64-http')).toBe('ipxe'); // another machine
    expect(s.chainFor(MAC, 'uefi-x64-http')).toBe('signed');
    const row = s.session.snapshot().clients.find((c) => c.mac === MAC);
    expect(row).toMatchObject({ chain: 'signed', chainReason: 'refused-unsigned' });
    await s.session.stop();
  });
});
