import { describe, expect, it } from 'vitest';
import { buildReport, escapeHtml, renderReport, type SessionReport } from '../../app/core/report.js';
import type { SessionSnapshot } from '../../app/shared/session-types.js';

const EVIL = `<img src=x onerror="alert(1)">&'`;

const snapshot: SessionSnapshot = {
  state: 'running',
  config: { mode: 'proxy', iface: 'eth0', root: '/srv' },
  startedAt: Date.UTC(2026, 0, 1, 10, 0, 0),
  endpoints: { tftp: '10.0.0.1:69', http: 'http://10.0.0.1:8080/' },
  transport: 'helper',
  warnings: [`site server sends ${EVIL}`],
  probe: {
    iface: 'eth0',
    probeMac: '02:00:00:00:00:01',
    startedAt: Date.UTC(2026, 0, 1, 9, 59, 57),
    durationMs: 3500,
    servers: [
      {
        serverId: '10.0.0.254',
        source: '10.0.0.254:67',
        kind: 'dhcp',
        offeredAddress: '10.0.0.9',
        prefixLength: 24,
        bootFile: EVIL,
      },
    ],
    warnings: [`boot file ${EVIL}`],
    refuse: { dhcp: 'Another DHCP server answers' },
  },
  clients: [
    {
      mac: '52:54:00:aa:bb:cc',
      stage: 'refused',
      firstSeen: 1,
      lastSeen: 2,
      vendorClass: EVIL,
      timeline: [
        { time: Date.UTC(2026, 0, 1, 10, 0, 1), stage: 'dhcp', text: 'DISCOVER (bios)' },
        { time: Date.UTC(2026, 0, 1, 10, 0, 2), stage: 'tftp', text: `TFTP ${EVIL}`, file: EVIL },
      ],
      diagnoses: [
        {
          code: 'boot-loop',
          severity: 'error',
          text: `Downloaded ${EVIL} 3 times`,
          fix: 'use <b>iPXE</b>',
          time: 2,
        },
      ],
      diagnosis: `Downloaded ${EVIL} 3 times`,
    },
  ],
};

const log = [
  {
    time: 5,
    level: 'warn' as const,
    source: 'session',
    message: `loop breaker ${EVIL}`,
    fields: { mac: EVIL },
  },
];

describe('session report', () => {
  it('JSON carries NIC, mode, probe, every client timeline + diagnoses and the log, unchanged', () => {
    const { json } = renderReport(
      {
        snapshot,
        log,
        nic: {
          name: 'eth0',
          type: 'wired',
          up: true,
          mac: 'aa:bb:cc:dd:ee:ff',
          ipv4: { address: '10.0.0.1', prefixLength: 24 },
        },
      },
      Date.UTC(2026, 0, 1, 11),
      '0.1.0',
    );
    const r = JSON.parse(json) as SessionReport;
    expect(r).toMatchObject({
      reportVersion: 1,
      generatedAt: '2026-01-01T11:00:00.000Z',
      appVersion: '0.1.0',
      mode: 'proxy',
      iface: 'eth0',
      address: '10.0.0.1',
      transport: 'helper',
      startedAt: '2026-01-01T10:00:00.000Z',
    });
    expect(r.nic?.mac).toBe('aa:bb:cc:dd:ee:ff');
    expect(r.probe).toEqual(snapshot.probe);
    expect(r.clients).toEqual(snapshot.clients);
    expect(r.log).toEqual(log);
  });

  it('HTML is self-contained and escapes every network-supplied value', () => {
    const { html } = renderReport({ snapshot, log }, 0);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>iPXE');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)=["']?https?:/i);
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;');
    expect(html).toContain("default-src 'none'");
    // Every section is there.
    for (const part of [
      'Preflight probe on eth0',
      '52:54:00:aa:bb:cc',
      'boot-loop',
      'Fix:',
      'loop breaker',
      '10.0.0.254',
    ])
      expect(html).toContain(part);
    // Element count is what the template makes: hostile text adds no tags.
    const tags = (h: string) => (h.match(/<[a-z]/gi) ?? []).length;
    const benign = renderReport(
      {
        snapshot: JSON.parse(
          JSON.stringify(snapshot).replaceAll('<img', 'IMG').replaceAll('<b>', 'B'),
        ) as SessionSnapshot,
        log,
      },
      0,
    ).html;
    expect(tags(html)).toBe(tags(benign));
  });

  it("shows each client's block, pause and boot override, and how many records were evicted", () => {
    const paused = Date.UTC(2026, 0, 1, 10, 5, 0);
    const input = {
      snapshot: {
        ...snapshot,
        clientsEvicted: 12,
        clients: [
          { ...snapshot.clients[0]!, blocked: true, bootOverride: { entry: EVIL, once: true } },
          {
            ...snapshot.clients[0]!,
            mac: '52:54:00:aa:bb:dd',
            paused: { until: paused, reason: `loop breaker: ${EVIL}` },
          },
        ],
      },
      log,
    };
    const r = buildReport(input, 0);
    expect(r.clientsEvicted).toBe(12);
    expect(r.clients[1]?.paused?.until).toBe(paused);
    const { html } = renderReport(input, 0);
    expect(html).toContain('12 older idle client records were dropped');
    expect(html).toContain('blocked by the operator');
    expect(html).toContain(`paused until 2026-01-01T10:05:00.000Z: loop breaker: ${escapeHtml(EVIL)}`);
    expect(html).toContain(`boots ${escapeHtml(EVIL)} once (no menu)`);
    expect(html).not.toContain('<img');
    expect(buildReport({ snapshot, log }, 0).clientsEvicted).toBeUndefined();
  });

  it('escapeHtml covers the five specials and non-strings', () => {
    expect(escapeHtml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
    expect(escapeHtml(undefined)).toBe('');
    expect(escapeHtml(42)).toBe('42');
  });

  it('a files-mode report without probe or clients still renders', () => {
    const r = buildReport({ snapshot: { state: 'idle', clients: [], warnings: [] }, log: [] }, 0);
    expect(r.probe).toBeUndefined();
    const { html } = renderReport({ snapshot: { state: 'idle', clients: [], warnings: [] }, log: [] }, 0);
    expect(html).toContain('No probe ran');
    expect(html).toContain('No client was seen');
  });
});
