/**
 * PXE boot menus (test-catalogue P13, P14, D29) and 4011 answers from remembered DISCOVERs (P12), through the
 * real engines on an in-memory transport. Expected option 43 bytes are written out by hand from PXE 2.1
 * Table 2-1 and dnsmasq's `pxe_opts` layout (docs/protocol-notes.md §3), not produced by the code under test.
 */
import { describe, expect, it } from 'vitest';
import type { BootConfig } from '../../app/engines/dhcp/boot-decision.js';
import { encodePxeMenu, pxeMenuProblems, type PxeMenu } from '../../app/engines/dhcp/pxe-menu.js';
import { DhcpServer, Opt, ProxyDhcpServer, decode, messageType } from '../../app/engines/dhcp/index.js';
import type { DhcpEvent } from '../../app/shared/events.js';
import type { LogRecord } from '../../app/shared/runtime.js';
import { createLogger } from '../../app/shared/runtime.js';
import { MAC, build, ip, pxeDiscover, setIp, vc } from '../helpers/dhcp-packets.js';
import { MemoryTransport } from '../helpers/memory-transport.js';
import { parseArgs } from '../../app/cli/args.js';
import { buildConfig } from '../../app/cli/config-from-args.js';
import { ConfigError, validateConfig } from '../../app/core/config-validate.js';
import { SessionController } from '../../app/core/session/index.js';
import { checkSessionConfig } from '../../app/shared/ipc-contract.js';

const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');
const boot: BootConfig = {
  mode: 'proxy',
  serverAddress: '10.0.0.1',
  tftpServer: '10.0.0.1',
  httpBaseUrl: 'http://10.0.0.1:8080',
};
const twoItems: PxeMenu = {
  items: [
    { label: 'Linux', bootFile: 'pxelinux.0' },
    { label: 'Memtest', bootFile: 'memtest' },
  ],
};

async function proxy(menu: PxeMenu | undefined, extra: { rememberMs?: number; now?: () => number } = {}) {
  const t = new MemoryTransport();
  const logs: LogRecord[] = [];
  const s = new ProxyDhcpServer({
    transport: t,
    serverAddress: '10.0.0.1',
    boot: { ...boot, ...(menu ? { pxeMenu: menu } : {}) },
    logger: createLogger((r) => logs.push(r)),
    ...(extra.rememberMs !== undefined ? { rememberMs: extra.rememberMs } : {}),
    ...(extra.now ? { clock: { now: extra.now } } : {}),
  });
  const events: DhcpEvent[] = [];
  s.onEvent((e) => events.push(e));
  await s.start();
  const discover = (data: Buffer) =>
    t.inject({ channel: 'dhcp', data, source: { address: '0.0.0.0', port: 68 } });
  const to4011 = (data: Buffer, source = { address: '10.0.0.60', port: 4011 }) =>
    t.inject({ channel: 'pxe', data, source });
  return { t, s, logs, events, discover, to4011 };
}

/** A BIOS ROM's boot-server REQUEST on 4011 for item {type, layer} (PXE 2.1 §2.2.5). */
const itemRequest = (type: number, layer = 0, extra: number[] = []) =>
  build(
    3,
    [
      60,
      32,
      ...vc(0),
      93,
      2,
      0,
      0,
      43,
      7,
      71,
      4,
      type >> 8,
      type & 255,
      layer >> 8,
      layer & 255,
      255,
      ...extra,
    ],
    setIp(12, '10.0.0.60'),
  );

describe('PXE boot menu (catalogue P13, P14, D29)', () => {
  it('P13 BIOS DISCOVER with a 2-item menu: 43 = 6:3, 8 per item with our IP, 9 both items, 10 {255,"PXE"}, FF', async () => {
    const { t, discover, events } = await proxy(twoItems);
    discover(pxeDiscover(0));
    const [out] = t.drain();
    const m = decode(out!.data);
    const expected =
      '060103' +
      '080e' +
      '800001' +
      '0a000001' +
      '800101' +
      '0a000001' +
      '0912' +
      '800005' +
      hex('Linux') +
      '800107' +
      hex('Memtest') +
      '0a04ff' +
      hex('PXE') +
      'ff';
    expect(m.options.get(Opt.vendorSpecific)?.toString('hex')).toBe(expected);
    // The ROM picks from the menu and asks 4011: no file in the offer.
    expect(m.file).toBe('');
    expect(m.options.has(Opt.bootFile)).toBe(false);
    expect(m.siaddr).toBe('10.0.0.1');
    expect(m.options.get(Opt.vendorClass)?.toString()).toBe('PXEClient');
    expect(events.find((e) => e.type === 'offer')?.bootFile).toBeUndefined();
  });

  it('P13 one item: prompt timeout 0 (boot it at once); a configured prompt and timeout are sent as given', async () => {
    const one = await proxy({ items: [{ label: 'Linux' }] });
    one.discover(pxeDiscover(0));
    const v = decode(one.t.drain()[0]!.data).options.get(Opt.vendorSpecific)!.toString('hex');
    expect(v).toBe(`060103` + `08078000010a000001` + `0908800005${hex('Linux')}` + `0a0400${hex('PXE')}ff`);
    const custom = await proxy({ ...twoItems, prompt: 'Press F8 for the boot menu', timeoutSeconds: 5 });
    custom.discover(pxeDiscover(0));
    const w = decode(custom.t.drain()[0]!.data).options.get(Opt.vendorSpecific)!.toString('hex');
    expect(w.endsWith(`0a1b05${hex('Press F8 for the boot menu')}ff`)).toBe(true);
  });

  it('P13 local-boot item: type 0 in 9, no server entry in 8', () => {
    const { value, items } = encodePxeMenu(
      { items: [{ label: 'Install' }, { label: 'Local disk', local: true }] },
      '10.0.0.1',
    );
    expect(items).toBe(2);
    expect(value.toString('hex')).toBe(
      '060103' +
        '0807800001' +
        '0a000001' +
        '0917' +
        '800007' +
        hex('Install') +
        '00000a' +
        hex('Local disk') +
        '0a04ff' +
        hex('PXE') +
        'ff',
    );
  });

  it('P13 the chosen item on 4011: its file (basename.layer without extension), 43.71 echoed, to source:4011', async () => {
    const { t, to4011, events } = await proxy(twoItems);
    to4011(itemRequest(0x8000));
    const [a] = t.drain();
    expect(a?.to).toEqual({ address: '10.0.0.60', port: 4011 });
    const m = decode(a!.data);
    expect(messageType(m)).toBe(5);
    expect(m.file).toBe('pxelinux.0');
    expect(m.options.get(Opt.bootFile)?.toString()).toBe('pxelinux.0\0');
    expect(m.options.get(Opt.vendorSpecific)?.toString('hex')).toBe('470480000000ff');
    expect(m.siaddr).toBe('10.0.0.1');
    to4011(itemRequest(0x8001, 1));
    const m2 = decode(t.drain()[0]!.data);
    expect(m2.file).toBe('memtest.1');
    expect(m2.options.get(Opt.vendorSpecific)?.toString('hex')).toBe('470480010001ff');
    expect(events.filter((e) => e.type === 'pxe-ack').map((e) => e.bootFile)).toEqual([
      'pxelinux.0',
      'memtest.1',
    ]);
  });

  it('P13 item not in the menu, local boot (type 0) and a missing item file are refused with reasons', async () => {
    const menu: PxeMenu = {
      items: [
        { label: 'Gone', bootFile: 'gone.0' },
        { label: 'Disk', local: true },
      ],
    };
    const t = new MemoryTransport();
    const s = new ProxyDhcpServer({
      transport: t,
      serverAddress: '10.0.0.1',
      boot: { ...boot, pxeMenu: menu, hasFile: (n) => n !== 'gone.0' },
    });
    const events: DhcpEvent[] = [];
    s.onEvent((e) => events.push(e));
    await s.start();
    for (const type of [0x8002, 0, 0x8000]) {
      t.inject({ channel: 'pxe', data: itemRequest(type), source: { address: '10.0.0.60', port: 4011 } });
    }
    expect(t.drain()).toEqual([]);
    const reasons = events.filter((e) => e.type === 'refusal').map((e) => e.reason);
    expect(reasons).toHaveLength(3);
    expect(reasons[0]).toMatch(/unknown PXE boot server type 32770/);
    expect(reasons[1]).toMatch(/local boot/);
    expect(reasons[2]).toMatch(/gone\.0 .*missing/);
  });

  it('P13 menus are for BIOS PXE ROMs only: UEFI keeps the BINL offer, iPXE its script, per-MAC overrides win', async () => {
    const { t, discover } = await proxy(twoItems);
    discover(pxeDiscover(7));
    expect(decode(t.drain()[0]!.data).options.has(Opt.vendorSpecific)).toBe(false);
    discover(pxeDiscover(0, [77, 4, ...Buffer.from('iPXE'), 175, 3, 177, 1, 1]));
    const ipxe = decode(t.drain()[0]!.data);
    expect(ipxe.options.get(Opt.vendorSpecific)?.toString('hex')).toBe('060108ff');
    expect(ipxe.file).toMatch(/^http:\/\/10\.0\.0\.1:8080\/boot\.ipxe\?/);
    const t2 = new MemoryTransport();
    const s2 = new ProxyDhcpServer({
      transport: t2,
      serverAddress: '10.0.0.1',
      boot: { ...boot, pxeMenu: twoItems, perMac: { '52:54:00:aa:bb:cc': { bootFile: 'special.0' } } },
    });
    await s2.start();
    t2.inject({ channel: 'dhcp', data: pxeDiscover(0), source: { address: '0.0.0.0', port: 68 } });
    const o = decode(t2.drain()[0]!.data);
    expect(o.file).toBe('special.0');
    expect(o.options.get(Opt.vendorSpecific)?.toString('hex')).toBe('060108ff');
  });

  it('P13 full mode offers the menu too and answers the chosen item on 4011 (F5: 4011 is served)', async () => {
    const t = new MemoryTransport();
    const s = new DhcpServer({
      transport: t,
      serverAddress: '10.0.0.1',
      pool: { rangeStart: '10.0.0.100', rangeEnd: '10.0.0.110', prefixLength: 24, router: '10.0.0.1' },
      boot: { ...boot, mode: 'dhcp', pxeMenu: twoItems },
    });
    await s.start();
    expect(t.opened.has('pxe')).toBe(true);
    t.inject({ channel: 'dhcp', data: pxeDiscover(0), source: { address: '0.0.0.0', port: 68 } });
    const o = decode(t.drain()[0]!.data);
    expect(o.yiaddr).toBe('10.0.0.100');
    expect(o.options.get(Opt.vendorSpecific)?.subarray(0, 3).toString('hex')).toBe('060103');
    expect(o.file).toBe('');
    t.inject({ channel: 'pxe', data: itemRequest(0x8001), source: { address: '10.0.0.100', port: 4011 } });
    const [a] = t.drain();
    expect(a?.channel).toBe('pxe');
    expect(a?.to).toEqual({ address: '10.0.0.60', port: 4011 });
    expect(decode(a!.data).file).toBe('memtest.0');
  });

  it('P14 a 300-byte menu text is refused at config time; unvalidated, the item is left out and the ROM boots at once', async () => {
    const long = 'x'.repeat(300);
    expect(pxeMenuProblems({ items: [{ label: long }] }).join()).toMatch(/1-250 characters \(it has 300\)/);
    expect(pxeMenuProblems({ items: [{ label: 'ok' }], prompt: long }).join()).toMatch(/prompt/);
    expect(pxeMenuProblems({ items: [{ label: 'ok' }], timeoutSeconds: 300 }).join()).toMatch(/0 to 255/);
    expect(pxeMenuProblems({ items: [] }).join()).toMatch(/at least one item/);
    expect(pxeMenuProblems(twoItems)).toEqual([]);
    const { t, discover, logs } = await proxy({ items: [{ label: long }] });
    discover(pxeDiscover(0));
    const m = decode(t.drain()[0]!.data);
    expect(m.options.get(Opt.vendorSpecific)?.toString('hex')).toBe('060108ff');
    expect(m.file).toBe('undionly.kpxe');
    expect(logs.some((r) => r.level === 'error' && /PXE menu too large/.test(r.message))).toBe(true);
  });

  it('D29 20 items: option 43 stays <= 255 bytes, the reply <= 576 (and <= option 57, <= 1472), the overflow is logged once', async () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ label: `Item ${i + 1}: install something` }));
    expect(pxeMenuProblems({ items }).join()).toMatch(/only \d+ of 20 items fit/);
    const { t, discover, logs } = await proxy({ items });
    discover(pxeDiscover(0));
    discover(pxeDiscover(0));
    for (const out of t.drain()) {
      expect(out.data.length).toBeLessThanOrEqual(576 - 28);
      const v = decode(out.data).options.get(Opt.vendorSpecific)!;
      expect(v.length).toBeLessThanOrEqual(255);
      expect(v.at(-1)).toBe(255);
      expect(v.subarray(0, 3).toString('hex')).toBe('060103');
    }
    expect(logs.filter((r) => /PXE menu too large/.test(r.message))).toHaveLength(1);
    // Full mode: lease options take room too; the menu shrinks so the reply still fits 576.
    const tf = new MemoryTransport();
    const full = new DhcpServer({
      transport: tf,
      serverAddress: '10.0.0.1',
      pool: {
        rangeStart: '10.0.0.100',
        rangeEnd: '10.0.0.110',
        prefixLength: 24,
        router: '10.0.0.1',
        dns: ['10.0.0.1', '10.0.0.2'],
      },
      boot: { ...boot, mode: 'dhcp', pxeMenu: { items } },
    });
    await full.start();
    tf.inject({ channel: 'dhcp', data: pxeDiscover(0), source: { address: '0.0.0.0', port: 68 } });
    // With option 57 = 1472 the client allows more, yet 43 itself never passes 255.
    tf.inject({
      channel: 'dhcp',
      data: pxeDiscover(0, [57, 2, 0x05, 0xc0], undefined, [2, 0, 0, 0, 0, 9]),
      source: { address: '0.0.0.0', port: 68 },
    });
    const [small, big] = tf.drain();
    expect(small!.data.length).toBeLessThanOrEqual(548);
    expect(decode(small!.data).options.get(Opt.vendorSpecific)!.length).toBeLessThanOrEqual(255);
    expect(decode(big!.data).options.get(Opt.vendorSpecific)!.length).toBeLessThanOrEqual(255);
    expect(decode(big!.data).options.get(Opt.vendorSpecific)!.length).toBeGreaterThanOrEqual(
      decode(small!.data).options.get(Opt.vendorSpecific)!.length,
    );
  });
});

describe('4011 answered from the DISCOVER remembered per MAC (catalogue P12)', () => {
  // A BINL request carrying neither option 93 nor Arch in option 60 (some ROMs send plain "PXEClient").
  const bare = (mac = MAC) => build(3, [60, 9, ...Buffer.from('PXEClient')], setIp(12, '10.0.0.60'), mac);

  it('P12 after this MAC DISCOVERed: ACK with the file decided then; another MAC: no reply and a reason', async () => {
    const { t, discover, to4011, events } = await proxy(undefined);
    discover(pxeDiscover(7));
    t.drain();
    to4011(bare());
    const [a] = t.drain();
    expect(a?.to).toEqual({ address: '10.0.0.60', port: 4011 });
    expect(decode(a!.data).file).toBe('snponly.efi');
    to4011(bare([2, 9, 9, 9, 9, 9]));
    expect(t.drain()).toEqual([]);
    expect(events.at(-1)?.type).toBe('refusal');
    expect(events.at(-1)?.reason).toMatch(/without an architecture \(option 93\)/);
  });

  it('P12 remembered only for rememberMs; 0 turns it off (then: no reply)', async () => {
    let now = 1_000_000;
    const a = await proxy(undefined, { rememberMs: 60_000, now: () => now });
    a.discover(pxeDiscover(0));
    a.t.drain();
    now += 59_000;
    a.to4011(bare());
    expect(decode(a.t.drain()[0]!.data).file).toBe('undionly.kpxe');
    now += 2_000 + 60_000;
    a.to4011(bare());
    expect(a.t.drain()).toEqual([]);
    const off = await proxy(undefined, { rememberMs: 0 });
    off.discover(pxeDiscover(0));
    off.t.drain();
    off.to4011(bare());
    expect(off.t.drain()).toEqual([]);
  });

  it('P12 a request that names its architecture is decided afresh (93 wins over memory)', async () => {
    const { t, discover, to4011 } = await proxy(undefined);
    discover(pxeDiscover(0));
    t.drain();
    to4011(build(3, [60, 32, ...vc(7), 93, 2, 0, 7], setIp(12, '10.0.0.60')));
    expect(decode(t.drain()[0]!.data).file).toBe('snponly.efi');
    expect(ip('10.0.0.60')).toEqual([10, 0, 0, 60]);
  });
});

describe('PXE menu configuration: CLI flags, contract guard, fix-it validation (P14)', () => {
  const nic = {
    name: 'eth0',
    type: 'wired' as const,
    up: true,
    ipv4: { address: '10.0.0.1', prefixLength: 24 },
  };
  const ctx = { interfaces: [nic], folderExists: () => true };

  it('P14 CLI --menu-item LABEL[=FILE], --menu-local, --menu-prompt, --menu-timeout build config.pxeMenu', () => {
    const argv = ['-p', '--iface', 'eth0', '--root', '/srv', '--menu-item', 'Linux=pxelinux.0'];
    argv.push(
      '--menu-item',
      'Default',
      '--menu-local',
      'Boot from disk',
      '--menu-prompt',
      'F8',
      '--menu-timeout',
      '5',
    );
    const c = buildConfig(parseArgs(argv));
    expect(c.pxeMenu).toEqual({
      items: [
        { label: 'Linux', bootFile: 'pxelinux.0' },
        { label: 'Default' },
        { label: 'Boot from disk', local: true },
      ],
      prompt: 'F8',
      timeoutSeconds: 5,
    });
    expect(checkSessionConfig(c)).toBeUndefined();
    expect(() => buildConfig(parseArgs(['--menu-timeout', '5']))).toThrow(/at least one --menu-item/);
  });

  it('P14 the IPC guard refuses malformed menus; validation refuses ones that cannot be sent, saying what to change', () => {
    const base = { mode: 'proxy', iface: 'eth0', root: '/srv' };
    expect(checkSessionConfig({ ...base, pxeMenu: { items: [] } })).toMatch(/1-64 items/);
    expect(checkSessionConfig({ ...base, pxeMenu: { items: [{ label: 'x'.repeat(300) }] } })).toMatch(
      /label/,
    );
    expect(checkSessionConfig({ ...base, pxeMenu: { items: [{ label: 'a', bootFile: '../etc' }] } })).toMatch(
      /relative/,
    );
    expect(
      checkSessionConfig({ ...base, pxeMenu: { items: [{ label: 'a' }], timeoutSeconds: 256 } }),
    ).toMatch(/0-255/);
    expect(checkSessionConfig({ ...base, pxeMenu: { items: [{ label: 'a' }], x: 1 } })).toMatch(
      /unknown field/,
    );
    const items = Array.from({ length: 20 }, (_, i) => ({
      label: `Entry number ${i + 1} with a long label`,
    }));
    const config = { mode: 'proxy' as const, iface: 'eth0', root: '/srv', pxeMenu: { items } };
    expect(() => validateConfig(config, ctx)).toThrow(ConfigError);
    try {
      validateConfig(config, ctx);
    } catch (e) {
      expect((e as ConfigError).code).toBe('bad-pxe-menu');
      expect((e as ConfigError).message).toMatch(/shorten the labels or the prompt/);
    }
    expect(validateConfig({ ...config, pxeMenu: twoItems }, ctx).config.pxeMenu).toBe(twoItems);
  });
});

describe('PXE menu reaches the engines through the session', () => {
  it('P13 SessionController hands config.pxeMenu to the proxy engine as boot.pxeMenu', async () => {
    const seen: object[] = [];
    const engine = {
      start: async () => undefined,
      stop: async () => undefined,
      onEvent: () => () => undefined,
      counters: () => ({ received: 0, malformed: 0, rateLimited: 0, sent: 0 }),
    };
    const made = async (o: object) => {
      seen.push(o);
      return engine;
    };
    const transport = new MemoryTransport();
    const session = new SessionController({
      interfaces: async () => [
        { name: 'eth0', type: 'wired', up: true, ipv4: { address: '10.0.0.1', prefixLength: 24 } },
      ],
      folderExists: () => true,
      bootFilesDir: '/',
      engines: { transport: async () => transport, proxy: made, dhcp: made, tftp: made, http: made },
    });
    await session.start({ mode: 'proxy', iface: 'eth0', root: '/srv', pxeMenu: twoItems, helper: 'never' });
    const proxyOpts = seen.find((o) => 'boot' in o) as { boot: BootConfig } | undefined;
    expect(proxyOpts?.boot.pxeMenu).toEqual(twoItems);
    await session.stop();
  });
});
