import { describe, expect, it } from 'vitest';
import { SessionController } from '../../app/core/session/index.js';
import { TransportError, type DatagramTransport } from '../../app/shared/datagram-transport.js';
import type { NicInfo, SessionEvent } from '../../app/shared/session-types.js';
import { fakeEngines, type EngineName } from '../helpers/fake-engine.js';

function fakes(fail?: EngineName) {
  let closed = 0;
  const transport: DatagramTransport = {
    kind: 'memory',
    open: async () => undefined,
    onDatagram: () => () => undefined,
    send: async () => undefined,
    close: async () => {
      closed++;
    },
  };
  const { factory, made } = fakeEngines(transport, fail ? { fail } : {});
  return { factory, made, closed: () => closed };
}

const nics: NicInfo[] = [
  { name: 'eth0', type: 'wired', up: true, ipv4: { address: '10.0.0.1', prefixLength: 24 } },
];
const base = { interfaces: async () => nics, folderExists: () => true, probeWindowMs: 100 };

describe('SessionController', () => {
  it('files mode starts TFTP + HTTP only and walks idle → starting → running → stopping → idle', async () => {
    const f = fakes();
    const s = new SessionController({ ...base, engines: f.factory, bootFilesDir: '/' });
    const states: string[] = [];
    s.onEvent((e: SessionEvent) => e.type === 'state' && states.push(e.snapshot.state));
    const snap = await s.start({
      mode: 'files',
      root: '/srv',
      address: '127.0.0.1',
      ports: { tftp: 6969, http: 18080 },
    });
    expect(snap.state).toBe('running');
    expect(f.made.map((e) => e.name)).toEqual(['tftp', 'http']);
    expect(f.made[0]?.opts).toMatchObject({
      root: '/srv',
      address: '127.0.0.1',
      port: 6969,
      fallbackDirs: ['/'],
    });
    expect(snap.endpoints).toEqual({ tftp: '127.0.0.1:6969', http: 'http://127.0.0.1:18080/' });
    await s.stop();
    expect(states).toEqual(['starting', 'running', 'stopping', 'idle']);
    expect(f.made.every((e) => !e.running)).toBe(true);
  });

  it('proxy and dhcp modes add the DHCP engine with boot config; events reach the timeline', async () => {
    const f = fakes();
    const s = new SessionController({ ...base, engines: f.factory });
    await s.start({
      mode: 'dhcp',
      root: '/srv',
      iface: 'eth0',
      dhcp: { rangeStart: '10.0.0.100', rangeEnd: '10.0.0.110', prefixLength: 24 },
    });
    const dhcp = f.made.find((e) => e.name === 'dhcp')!;
    expect(dhcp.opts).toMatchObject({
      serverAddress: '10.0.0.1',
      boot: { mode: 'dhcp', httpBaseUrl: 'http://10.0.0.1:8080', tftpServer: '10.0.0.1' },
    });
    dhcp.emit({
      engine: 'dhcp',
      type: 'ack',
      time: 1,
      client: { mac: '52:54:00:00:00:01' },
      ip: '10.0.0.100',
    });
    f.made
      .find((e) => e.name === 'tftp')!
      .emit({
        engine: 'tftp',
        type: 'start',
        time: 2,
        transferId: '1',
        client: { address: '10.0.0.100', port: 1 },
        file: 'undionly.kpxe',
        bytes: 0,
      });
    expect(s.snapshot().clients[0]).toMatchObject({
      mac: '52:54:00:00:00:01',
      stage: 'tftp',
      ip: '10.0.0.100',
    });
    await s.stop();
    expect(f.closed()).toBe(1);
  });

  it('refuses a bad config with its fix-it message and starts nothing', async () => {
    const f = fakes();
    const s = new SessionController({ ...base, engines: f.factory });
    const snap = await s.start({ mode: 'proxy', root: '/srv' });
    expect(snap.state).toBe('error');
    expect(snap.error?.code).toBe('iface-required');
    expect(f.made).toHaveLength(0);
  });

  it('a failing engine start rolls back everything already started', async () => {
    const f = fakes('dhcp');
    const s = new SessionController({ ...base, engines: f.factory });
    const snap = await s.start({
      mode: 'dhcp',
      root: '/srv',
      iface: 'eth0',
      dhcp: { rangeStart: '10.0.0.100', rangeEnd: '10.0.0.110', prefixLength: 24 },
    });
    expect(snap.state).toBe('error');
    expect(snap.error?.code).toBe('port-in-use');
    expect(snap.error?.message).toMatch(/choose another port/);
    expect(f.made.every((e) => !e.running)).toBe(true);
    expect(f.closed()).toBe(1);
    // error → stop → idle, and a new start works
    await s.stop();
    expect(s.snapshot().state).toBe('idle');
  });

  it('the snapshot is the client model: bounded rows with the eviction count, blocks in the row and in the boot decision', async () => {
    const f = fakes();
    const s = new SessionController({ ...base, engines: f.factory, maxClients: 2 });
    await s.start({ mode: 'proxy', root: '/srv', iface: 'eth0', helper: 'never' });
    const proxy = f.made.find((e) => e.name === 'proxy')!;
    const rows: { mac: string; blocked?: boolean }[] = [];
    s.onEvent((e) => e.type === 'client' && rows.push(e.client));
    for (let i = 1; i <= 5; i++)
      proxy.emit({ engine: 'proxy', type: 'discover', time: i, client: { mac: `52:54:00:00:00:0${i}` } });
    let snap = s.snapshot();
    expect(snap.clients.map((c) => c.mac)).toEqual(['52:54:00:00:00:04', '52:54:00:00:00:05']);
    expect(snap.clientsEvicted).toBe(3);
    s.clientAction('52-54-00-00-00-05', 'block');
    expect(rows.at(-1)).toMatchObject({ mac: '52:54:00:00:00:05', blocked: true });
    const isBlocked = (proxy.opts.boot as { isBlocked: (mac: string) => unknown }).isBlocked;
    expect(isBlocked('52:54:00:00:00:05')).toEqual({ kind: 'blocked', reason: 'blocked by the operator' });
    snap = s.snapshot();
    expect(snap.clients.find((c) => c.mac === '52:54:00:00:00:05')?.blocked).toBe(true);
    s.clientAction('52:54:00:00:00:05', 'unblock');
    expect(isBlocked('52:54:00:00:00:05')).toBeUndefined();
    expect(s.snapshot().clients.find((c) => c.mac === '52:54:00:00:00:05')?.blocked).toBeUndefined();
    await s.stop();
  });

  it('a broadcast route that leaves the chosen NIC mid-session is a warning (once); the helper dying ends the session', async () => {
    const onError = new Set<(e: TransportError) => void>();
    const transport: DatagramTransport = {
      kind: 'direct',
      open: async () => undefined,
      onDatagram: () => () => undefined,
      send: async () => undefined,
      close: async () => undefined,
      onError: (l) => (onError.add(l), () => onError.delete(l)),
    };
    const s = new SessionController({ ...base, engines: fakeEngines(transport).factory });
    await s.start({ mode: 'proxy', root: '/srv', iface: 'eth0', helper: 'never', skipProbe: true });
    const moved = new TransportError('unpinned-broadcast', 'the broadcast route moved to wlan0');
    for (let i = 0; i < 2; i++) onError.forEach((l) => l(moved));
    await new Promise((r) => setImmediate(r));
    let snap = s.snapshot();
    expect(snap.state).toBe('running');
    expect(snap.warnings.filter((w) => w === moved.message)).toHaveLength(1);
    onError.forEach((l) => l(new TransportError('helper-died', 'helper exited')));
    await new Promise((r) => setImmediate(r));
    snap = s.snapshot();
    expect(snap.state).toBe('error');
    expect(snap.error?.code).toBe('helper-died');
  });

  it('refuses a second start while running', async () => {
    const s = new SessionController({ ...base, engines: fakes().factory });
    await s.start({ mode: 'files', root: '/srv', address: '127.0.0.1' });
    await expect(s.start({ mode: 'files', root: '/srv', address: '127.0.0.1' })).rejects.toThrow(
      /already running/,
    );
    await s.stop();
  });
});
