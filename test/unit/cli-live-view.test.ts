import { describe, expect, it } from 'vitest';
import { LiveView, renderClient } from '../../app/cli/live-view.js';
import { formatSyslog, parseSyslogTarget } from '../../app/cli/syslog.js';

describe('live view', () => {
  it('renders a client row with progress bar and rate', () => {
    const row = renderClient({
      mac: '52:54:00:00:00:01',
      ip: '10.0.0.100',
      stage: 'tftp',
      firstSeen: 0,
      lastSeen: 0,
      timeline: [],
      transfer: {
        engine: 'tftp',
        type: 'progress',
        time: 0,
        transferId: '1',
        client: { address: '10.0.0.100', port: 1 },
        file: 'undionly.kpxe',
        bytes: 50_000,
        size: 100_000,
        rate: 2_000_000,
      },
    });
    expect(row).toContain('[##########..........]');
    expect(row).toContain('50k/100k');
    expect(row).toContain('2.0MB/s');
  });

  it('coalesces redraws to at most one per interval', async () => {
    const frames: string[] = [];
    const view = new LiveView((t) => frames.push(t), 50);
    for (let i = 0; i < 100; i++) view.handle({ type: 'warning', message: `w${i}` });
    await new Promise((r) => setTimeout(r, 120));
    expect(frames.length).toBe(1);
    expect(frames[0]).toContain('w99');
    expect(frames[0]).not.toContain('w90\n'); // only the last lines are kept
  });
});

describe('syslog', () => {
  it('parses targets', () => {
    expect(parseSyslogTarget('')).toBeUndefined();
    expect(parseSyslogTarget('logs.lan')).toEqual({ host: 'logs.lan', port: 514 });
    expect(parseSyslogTarget('10.0.0.5:1514')).toEqual({ host: '10.0.0.5', port: 1514 });
  });
  it('formats RFC 3164 with daemon facility', () => {
    const line = formatSyslog({
      time: Date.UTC(2026, 0, 5, 12, 0, 0),
      level: 'warn',
      source: 'tftp',
      message: 'hi',
    });
    expect(line).toMatch(/^<28>Jan {2}5 \d\d:\d\d:\d\d pxe-desk pxe-desk\[\d+\]: tftp: hi$/);
  });
});
