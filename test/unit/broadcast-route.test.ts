/**
 * The route decision behind "a DHCP broadcast leaves only through the chosen NIC" on plain sockets
 * (app/transport/broadcast-route.ts): parsing each OS's answer for 255.255.255.255, the refusal and its
 * fix, chooseTransport refusing before anything is bound, and DirectTransport re-checking per broadcast.
 * No test here sends a broadcast: every allowed send is stopped by a socket that was never opened.
 */
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../app/shared/datagram-transport.js';
import {
  parseDarwinRouteGet,
  parseIpRouteGet,
  parseProcNetRoute,
  parseWindowsRoutePrint,
  unpinnedBroadcastError,
  type BroadcastRoute,
} from '../../app/transport/broadcast-route.js';
import { chooseTransport } from '../../app/transport/choose-transport.js';
import { DirectTransport } from '../../app/transport/direct-transport.js';

const PROC_HEADER = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT';
const procRoute = (...rows: string[]): string => [PROC_HEADER, ...rows].join('\n') + '\n';
// Destination/Mask as the kernel prints them (little-endian hex): 192.0.2.0/24 = 000200C0 / 00FFFFFF.
const DEFAULT_A = 'nica\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0';
const SUBNET_A = 'nica\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0';
const SUBNET_B = 'nicb\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0';

describe('where the OS sends 255.255.255.255', () => {
  it('ip -j route get: the device of the kernel lookup', () => {
    expect(
      parseIpRouteGet(
        '[{"type":"broadcast","dst":"255.255.255.255","dev":"nicb","prefsrc":"198.51.100.1","flags":[],"uid":0,"cache":["local","brd"]}]',
      ),
    ).toEqual({ kind: 'device', device: 'nicb' });
    expect(parseIpRouteGet('RTNETLINK answers').kind).toBe('unknown');
    expect(parseIpRouteGet('[{"type":"broadcast"}]').kind).toBe('unknown');
  });

  it('/proc/net/route: the default route device, an explicit /32 before it, lowest metric on a tie', () => {
    expect(parseProcNetRoute(procRoute(DEFAULT_A, SUBNET_A, SUBNET_B))).toEqual({
      kind: 'device',
      device: 'nica',
    });
    const explicitB = 'nicb\tFFFFFFFF\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0';
    expect(parseProcNetRoute(procRoute(DEFAULT_A, SUBNET_A, SUBNET_B, explicitB))).toEqual({
      kind: 'device',
      device: 'nicb',
    });
    const defaultB100 = 'nicb\t00000000\t016433C6\t0003\t0\t0\t100\t00000000\t0\t0\t0';
    const defaultA600 = 'nica\t00000000\t010200C0\t0003\t0\t0\t600\t00000000\t0\t0\t0';
    expect(parseProcNetRoute(procRoute(defaultA600, defaultB100))).toEqual({
      kind: 'device',
      device: 'nicb',
    });
    // A route that is not up does not count.
    const downB = 'nicb\tFFFFFFFF\t00000000\t0004\t0\t0\t0\tFFFFFFFF\t0\t0\t0';
    expect(parseProcNetRoute(procRoute(DEFAULT_A, downB))).toEqual({ kind: 'device', device: 'nica' });
  });

  it('/proc/net/route: no default route, or an unreachable / blackhole /32, means nothing leaves', () => {
    expect(parseProcNetRoute(procRoute(SUBNET_A, SUBNET_B)).kind).toBe('none');
    const unreachable = '*\tFFFFFFFF\t00000000\t0205\t0\t0\t0\tFFFFFFFF\t0\t0\t0';
    expect(parseProcNetRoute(procRoute(DEFAULT_A, unreachable)).kind).toBe('none');
    const blackhole = '*\tFFFFFFFF\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0';
    expect(parseProcNetRoute(procRoute(DEFAULT_A, blackhole)).kind).toBe('none');
  });

  it('macOS route get and Windows route print', () => {
    const darwin = [
      '   route to: broadcasthost',
      'destination: default',
      '       mask: default',
      '    gateway: 192.168.1.1',
      '  interface: en0',
      '      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING>',
    ].join('\n');
    expect(parseDarwinRouteGet(darwin)).toEqual({ kind: 'device', device: 'en0' });
    expect(parseDarwinRouteGet('route: writing to routing socket: not in table').kind).toBe('unknown');

    const table = (wifiMetric: number): string =>
      [
        'IPv4 Route Table',
        '===========================================================================',
        'Active Routes:',
        'Network Destination        Netmask          Gateway       Interface  Metric',
        '  255.255.255.255  255.255.255.255         On-link     192.168.1.23    281',
        `  255.255.255.255  255.255.255.255         On-link      10.42.0.5    ${wifiMetric}`,
        '===========================================================================',
      ].join('\r\n');
    const owners = new Map([
      ['192.168.1.23', 'Ethernet'],
      ['10.42.0.5', 'Wi-Fi'],
    ]);
    expect(parseWindowsRoutePrint(table(291), owners)).toEqual({ kind: 'device', device: 'Ethernet' });
    expect(parseWindowsRoutePrint(table(35), owners)).toEqual({ kind: 'device', device: 'Wi-Fi' });
    expect(parseWindowsRoutePrint(table(281), owners).kind).toBe('unknown');
    expect(parseWindowsRoutePrint('Active Routes:\r\n  None\r\n', owners).kind).toBe('none');
  });
});

describe('the refusal and its fix', () => {
  const ctx = { iface: 'nic-b', platform: 'linux' as const };

  it('nothing to refuse when the chosen NIC holds the broadcast route', () => {
    expect(
      unpinnedBroadcastError({ kind: 'device', device: 'nic-b' }, { ...ctx, reason: 'policy-never' }),
    ).toBe(undefined);
  });

  it('another NIC holds it: names where the broadcast would go and both fixes', () => {
    const e = unpinnedBroadcastError(
      { kind: 'device', device: 'nic-a' },
      { ...ctx, reason: 'helper-missing', helperPath: '/opt/x/pxe-desk-helper' },
    );
    expect(e).toBeInstanceOf(TransportError);
    expect(e?.code).toBe('unpinned-broadcast');
    expect(e?.message).toMatch(/would leave through nic-a, not nic-b/);
    expect(e?.message).toMatch(/not found at \/opt\/x\/pxe-desk-helper/);
    expect(e?.message).toMatch(/node scripts\/build\.mjs helper/);
    expect(e?.message).toMatch(/choose nic-a, the NIC that holds the broadcast route/);
    const never = unpinnedBroadcastError(
      { kind: 'device', device: 'nic-a' },
      { ...ctx, reason: 'policy-never' },
    );
    expect(never?.message).toMatch(
      /--helper never .*plain sockets.*--helper auto; build it: node scripts\/build\.mjs helper/,
    );
  });

  it('no route or an unknown route: refused too (fail closed)', () => {
    const none = unpinnedBroadcastError(
      { kind: 'none', detail: 'Network is unreachable' },
      { ...ctx, reason: 'policy-never' },
    );
    expect(none?.code).toBe('unpinned-broadcast');
    expect(none?.message).toMatch(/no route .*Network is unreachable/);
    const unknown = unpinnedBroadcastError(
      { kind: 'unknown', detail: 'spawn ip ENOENT' },
      { ...ctx, reason: 'policy-never' },
    );
    expect(unknown?.message).toMatch(/Cannot tell .*spawn ip ENOENT/);
  });

  it('without a helper for the platform, the fix is the network preference', () => {
    const e = unpinnedBroadcastError(
      { kind: 'device', device: 'Wi-Fi' },
      { iface: 'Ethernet', platform: 'win32', reason: 'no-helper-platform' },
    );
    expect(e?.message).toMatch(/on win32 .*make Ethernet the preferred network.*or choose Wi-Fi/);
  });
});

describe('chooseTransport decides before anything is bound', () => {
  const route =
    (device: string): (() => BroadcastRoute) =>
    () => ({ kind: 'device', device });
  const thrown = (f: () => unknown): TransportError | undefined => {
    try {
      f();
    } catch (e) {
      if (e instanceof TransportError) return e;
      throw e;
    }
    return undefined;
  };

  it('never, auto without the helper binary, and other platforms refuse when another NIC holds the route', () => {
    for (const options of [
      { policy: 'never' as const, platform: 'linux' as const },
      { policy: 'auto' as const, platform: 'linux' as const, helperPath: '/nonexistent/pxe-desk-helper' },
      { policy: 'auto' as const, platform: 'win32' as const },
      { policy: 'never' as const, platform: 'darwin' as const },
    ]) {
      let asked = 0;
      const e = thrown(() =>
        chooseTransport({
          ...options,
          iface: 'nic-b',
          broadcastRoute: () => {
            asked++;
            return { kind: 'device', device: 'nic-a' };
          },
        }),
      );
      expect(e?.code, options.platform).toBe('unpinned-broadcast');
      expect(asked).toBe(1);
    }
  });

  it('plain sockets when the chosen NIC holds the route; no NIC chosen is an error', () => {
    expect(
      chooseTransport({ policy: 'never', platform: 'linux', iface: 'nic-b', broadcastRoute: route('nic-b') }),
    ).toBeInstanceOf(DirectTransport);
    expect(thrown(() => chooseTransport({ policy: 'never', broadcastRoute: route('nic-b') }))?.code).toBe(
      'interface-missing',
    );
  });

  it('the helper pins by itself: no route lookup', () => {
    let asked = 0;
    chooseTransport({
      policy: 'auto',
      platform: 'linux',
      helperPath: process.execPath,
      iface: 'nic-b',
      broadcastRoute: () => {
        asked++;
        return { kind: 'device', device: 'nic-a' };
      },
    });
    expect(asked).toBe(0);
  });
});

describe('DirectTransport re-checks the route per broadcast', () => {
  it('refuses broadcasts while the route is elsewhere, reports each move once, re-asks at most every recheckMs', async () => {
    let device = 'nic-b';
    let asked = 0;
    let now = 0;
    const t = new DirectTransport({
      broadcastPin: {
        iface: 'nic-b',
        reason: 'policy-never',
        platform: 'linux',
        recheckMs: 1000,
        now: () => now,
        lookup: () => {
          asked++;
          return { kind: 'device', device };
        },
      },
    });
    const errors: TransportError[] = [];
    t.onError((e) => errors.push(e));
    const broadcast = { address: '255.255.255.255', port: 68 };
    const code = async (to = broadcast): Promise<string> =>
      t.send('dhcp', to, new Uint8Array(1)).then(
        () => 'sent',
        (e: unknown) => (e instanceof TransportError ? e.code : 'other'),
      );
    // Allowed: it reaches the socket check (never opened, so nothing is sent).
    expect(await code()).toBe('not-open');
    expect(asked).toBe(1);
    device = 'nic-a'; // a Wi-Fi took the default route
    now = 500;
    expect(await code()).toBe('not-open'); // not re-asked yet
    expect(asked).toBe(1);
    now = 1000;
    expect(await code()).toBe('unpinned-broadcast');
    now = 1500;
    expect(await code()).toBe('unpinned-broadcast');
    expect(asked).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(['unpinned-broadcast']);
    expect(errors[0]?.message).toMatch(/would leave through nic-a, not nic-b/);
    // Unicast is routed by its destination's subnet: not checked.
    expect(await code({ address: '127.0.0.1', port: 68 })).toBe('not-open');
    expect(asked).toBe(2);
    device = 'nic-b';
    now = 2000;
    expect(await code()).toBe('not-open');
    device = 'nic-a';
    now = 3000;
    expect(await code()).toBe('unpinned-broadcast');
    expect(errors).toHaveLength(2);
  });
});
