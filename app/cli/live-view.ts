/**
 * Live terminal view for `serve` on a TTY: session header, one row per client (stage, file, progress
 * bar, rate) and the latest log lines. Redraws at most 4 times a second so a fast transfer's progress
 * events cannot flood the terminal.
 */
import type { ClientRecord, SessionEvent, SessionSnapshot } from '../shared/session-types.js';

const MAX_LOG = 6;
/** Rows the live view draws (the newest machines); the rest are summed up in one line. */
const MAX_ROWS = 40;
/** Rows it remembers (the session keeps 4096 records; a flood of new MACs must not grow this map). */
const MAX_KEPT = 4096;

/**
 * Plain (non-TTY) output under a flood: at most `perSecond` client lines a second, the rest summed up
 * once a second ("N more client updates from M machines not shown"; the caller's timer calls `summary()`),
 * so a log stays readable and writing it never becomes the server's bottleneck. `--json` keeps every update.
 */
export class LineBudget {
  private used = 0;
  private held = 0;
  private readonly heldMacs = new Set<string>();

  /** `perSecond` lines between two calls of `summary()` (serve calls it once a second). */
  constructor(private readonly perSecond = 50) {}

  /** Whether this client's line is printed now (false: counted for the next summary). */
  admit(mac: string): boolean {
    if (this.used < this.perSecond) {
      this.used++;
      return true;
    }
    this.held++;
    if (this.heldMacs.size < 100_000) this.heldMacs.add(mac);
    return false;
  }

  /** The summary of what was held back since the last one, if anything was. */
  summary(): string | undefined {
    this.used = 0; // a new second's budget
    if (this.held === 0) return undefined;
    const line = `${this.held} more client update${this.held === 1 ? '' : 's'} from ${this.heldMacs.size} machine${this.heldMacs.size === 1 ? '' : 's'} not shown (--json has every one)`;
    this.held = 0;
    this.heldMacs.clear();
    return line;
  }
}

function bar(bytes: number, size: number | undefined, width = 20): string {
  if (!size) return ''.padEnd(width + 2);
  const filled = Math.min(width, Math.round((bytes / size) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return String(n);
}

export function renderClient(c: ClientRecord): string {
  const t = c.transfer;
  const file = t ? t.file.slice(-24) : '';
  const progress = t ? `${bar(t.bytes, t.size)} ${human(t.bytes)}${t.size ? `/${human(t.size)}` : ''}` : '';
  const rate = t?.rate ? ` ${human(t.rate)}B/s` : '';
  const why = c.diagnoses?.[0]; // the headline finding, as in the plain lines (serve.ts)
  const signed = c.chain === 'signed' ? ' [Secure Boot: signed chain]' : '';
  return `${c.mac.padEnd(17)} ${(c.ip ?? '').padEnd(15)} ${c.stage.padEnd(11)} ${file.padEnd(24)} ${progress}${rate}${signed}${why ? `\n    ${why.text}` : ''}${why?.fix ? `\n    fix: ${why.fix}` : ''}`;
}

export class LiveView {
  private snapshot: SessionSnapshot | undefined;
  private readonly clients = new Map<string, ClientRecord>();
  private readonly logs: string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastDraw = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly minIntervalMs = 250,
    private readonly now: () => number = Date.now,
  ) {}

  handle(e: SessionEvent): void {
    if (e.type === 'state') this.snapshot = e.snapshot;
    else if (e.type === 'client') {
      this.clients.set(e.client.mac, e.client);
      if (this.clients.size > MAX_KEPT) {
        const oldest = this.clients.keys().next().value;
        if (oldest !== undefined) this.clients.delete(oldest);
      }
    } else {
      const line =
        e.type === 'warning'
          ? `warning: ${e.message}`
          : e.type === 'probe'
            ? `probe ${e.result.iface}: ${e.result.servers.length} DHCP server(s) answered`
            : `${e.record.level} ${e.record.source}: ${e.record.message}`;
      this.logs.push(line);
      if (this.logs.length > MAX_LOG) this.logs.shift();
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastDraw + this.minIntervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, wait);
  }

  render(): string {
    const s = this.snapshot;
    const eps = s?.endpoints
      ? Object.entries(s.endpoints)
          .map(([k, v]) => `${k} ${v}`)
          .join('  ')
      : '';
    const head = `PXE Desk  ${s?.config?.mode ?? ''} mode  ${s?.state ?? ''}  ${eps}`;
    const err = s?.error ? `\nerror: ${s.error.message}` : '';
    // In order of appearance; under a flood only the newest MAX_ROWS machines, the others counted.
    const all = [...this.clients.values()];
    const hidden = Math.max(0, all.length - MAX_ROWS);
    const rows = all.slice(hidden).map(renderClient);
    if (hidden > 0) rows.unshift(`… ${hidden} earlier machine${hidden === 1 ? '' : 's'} not shown`);
    const table = rows.length ? rows.join('\n') : '(no clients yet: power on a machine set to network boot)';
    return `${head}${err}\n\n${'MAC'.padEnd(17)} ${'IP'.padEnd(15)} ${'STAGE'.padEnd(11)} FILE\n${table}\n\n${this.logs.join('\n')}\n`;
  }

  draw(): void {
    this.lastDraw = this.now();
    // Home + clear screen, then the whole frame (simpler and flicker-free enough at ≤ 4 fps).
    this.write(`\x1b[H\x1b[2J${this.render()}`);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
  }
}
