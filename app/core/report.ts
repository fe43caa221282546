/**
 * Session report (issue 10; docs/decisions.md, "session report"): one export a technician attaches to a ticket —
 * the NIC, the mode, the preflight probe, every client's timeline and diagnosis, and the log — as JSON
 * (machine-readable, the same records the UI shows) and as one self-contained HTML page (no scripts,
 * no external resources, every value HTML-escaped: MACs, vendor classes, file names and other servers'
 * boot file names come from the network and must not become markup).
 */
import { probeInterface } from './probe.js';
import { firmwareLabel } from '../shared/firmware.js';
import { signedChainWords, type SecureBootMode } from '../shared/secure-boot.js';
import type { LogRecord } from '../shared/runtime.js';
import type { ClientRecord, NicInfo, ProbeResult, SessionSnapshot } from '../shared/session-types.js';

export const REPORT_VERSION = 1;

export interface SessionReport {
  readonly reportVersion: typeof REPORT_VERSION;
  readonly generatedAt: string;
  readonly appVersion?: string;
  readonly state: SessionSnapshot['state'];
  readonly mode?: string;
  /** The session's Secure Boot setting (absent before a session was configured). */
  readonly secureBoot?: SecureBootMode;
  readonly iface?: string;
  readonly address?: string;
  readonly nic?: NicInfo;
  readonly startedAt?: string;
  readonly endpoints?: Readonly<Record<string, string>>;
  readonly transport?: SessionSnapshot['transport'];
  readonly error?: SessionSnapshot['error'];
  readonly warnings: readonly string[];
  readonly probe?: ProbeResult;
  readonly clients: readonly ClientRecord[];
  /** Client records dropped to keep the session bounded (a flood of new MACs), when any. */
  readonly clientsEvicted?: number;
  readonly log: readonly LogRecord[];
}

export interface ReportInput {
  readonly snapshot: SessionSnapshot;
  readonly nic?: NicInfo;
  readonly log: readonly LogRecord[];
}

/** Pure: the report data from a snapshot + log at `now`. */
export function buildReport(input: ReportInput, now: number, appVersion?: string): SessionReport {
  const s = input.snapshot;
  return {
    reportVersion: REPORT_VERSION,
    generatedAt: new Date(now).toISOString(),
    ...(appVersion ? { appVersion } : {}),
    state: s.state,
    ...(s.config ? { mode: s.config.mode, secureBoot: s.config.secureBoot ?? 'auto' } : {}),
    ...(s.config?.iface ? { iface: s.config.iface } : {}),
    ...(s.config?.address
      ? { address: s.config.address }
      : input.nic?.ipv4
        ? { address: input.nic.ipv4.address }
        : {}),
    ...(input.nic ? { nic: input.nic } : {}),
    ...(s.startedAt !== undefined ? { startedAt: new Date(s.startedAt).toISOString() } : {}),
    ...(s.endpoints ? { endpoints: s.endpoints } : {}),
    ...(s.transport ? { transport: s.transport } : {}),
    ...(s.error ? { error: s.error } : {}),
    warnings: s.warnings,
    ...(s.probe ? { probe: s.probe } : {}),
    clients: s.clients,
    ...(s.clientsEvicted ? { clientsEvicted: s.clientsEvicted } : {}),
    log: input.log,
  };
}

export function reportJson(r: SessionReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const e = escapeHtml;

function time(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function probeSection(p: ProbeResult | undefined): string {
  if (!p) return '<h2>Preflight probe</h2><p class="none">No probe ran (files mode, or skipped).</p>';
  const rows = p.servers.map((s) => [
    s.kind === 'dhcp' ? 'DHCP' : 'proxyDHCP',
    s.serverId,
    s.offeredAddress ? `${s.offeredAddress}${s.prefixLength !== undefined ? `/${s.prefixLength}` : ''}` : '',
    s.router ?? '',
    (s.dns ?? []).join(', '),
    [
      s.bootFile ? `file ${s.bootFile}` : '',
      s.nextServer ? `next-server ${s.nextServer}` : '',
      s.pxeMenu ? 'PXE menu' : '',
    ]
      .filter(Boolean)
      .join(', '),
  ]);
  return `<h2>Preflight probe on ${e(p.iface)}</h2>
<p>Probe MAC ${e(p.probeMac)}, ${e(new Date(p.startedAt).toISOString())}, listened ${e(p.durationMs)} ms.</p>
${table(['Kind', 'Server', 'Offered', 'Router', 'DNS', 'Boot options'], rows)}
${p.refuse?.dhcp ? `<p class="error">Full DHCP mode: ${e(p.refuse.dhcp)}</p>` : ''}
${p.warnings.length ? `<ul class="warn">${p.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul>` : ''}`;
}

function clientSection(c: ClientRecord): string {
  const ident = [
    c.ip,
    c.vendor,
    c.firmware ? `${firmwareLabel(c.firmware)}${c.arch !== undefined ? ` (arch ${c.arch})` : ''}` : '',
    c.vendorClass,
    c.userClass ? `user class ${c.userClass}` : '',
  ].filter(Boolean);
  const findings = (c.diagnoses ?? []).map(
    (d) =>
      `<li class="${e(d.severity)}"><strong>${e(d.code)}</strong> ${e(d.text)}${d.fix ? `<br><em>Fix:</em> ${e(d.fix)}` : ''}</li>`,
  );
  if (findings.length === 0 && c.diagnosis) findings.push(`<li>${e(c.diagnosis)}</li>`);
  // What the operator and the loop breaker decided about this machine (session state, not events).
  const state = [
    c.blocked ? 'blocked by the operator' : '',
    c.paused ? `paused until ${new Date(c.paused.until).toISOString()}: ${c.paused.reason}` : '',
    c.bootOverride ? `boots ${c.bootOverride.entry}${c.bootOverride.once ? ' once' : ''} (no menu)` : '',
    // Secure Boot (issue 19): the chain this machine was served, and why the signed one.
    c.chain === 'signed'
      ? `Secure Boot: signed chain (shim → GRUB)${c.chainReason ? `: ${signedChainWords(c.chainReason)}` : ''}`
      : '',
  ].filter(Boolean);
  return `<section class="client"><h3>${e(c.mac)} <span class="stage">${e(c.stage)}</span></h3>
${state.length ? `<p class="warn">${e(state.join(' · '))}</p>` : ''}
<p>${e(ident.join(' · '))}</p>
${findings.length ? `<ul class="diag">${findings.join('')}</ul>` : ''}
${table(
  ['Time', 'Stage', 'Event'],
  c.timeline.map((t) => [time(t.time), t.stage, t.text]),
)}</section>`;
}

/** Self-contained HTML (inline CSS, no scripts, no external fetches); every value escaped. */
export function reportHtml(r: SessionReport): string {
  const nic = r.nic
    ? `${r.nic.name} (${r.nic.type}${r.nic.mac ? `, ${r.nic.mac}` : ''}${r.nic.ipv4 ? `, ${r.nic.ipv4.address}/${r.nic.ipv4.prefixLength}` : ''}${r.nic.mtu ? `, MTU ${r.nic.mtu}` : ''})`
    : (r.iface ?? '—');
  const facts: [string, unknown][] = [
    ['Generated', r.generatedAt],
    ['PXE Desk', r.appVersion ?? ''],
    ['State', r.state],
    ['Mode', r.mode ?? ''],
    ['Secure Boot', r.secureBoot ?? ''],
    ['Interface', nic],
    ['Address', r.address ?? ''],
    ['Started', r.startedAt ?? ''],
    ['Transport', r.transport ?? ''],
    [
      'Endpoints',
      Object.entries(r.endpoints ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>PXE Desk session report ${e(r.generatedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f2}.none{color:#777}.error,.diag .error{color:#a00}.warn li,.diag .warning{color:#a60}
.client{border-top:1px solid #ddd;margin-top:1em}.stage{font-weight:normal;color:#555}
pre{white-space:pre-wrap}
</style></head><body>
<h1>PXE Desk session report</h1>
<table>${facts.map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`).join('')}</table>
${r.error ? `<p class="error">Error ${e(r.error.code)}: ${e(r.error.message)}</p>` : ''}
${r.warnings.length ? `<h2>Warnings</h2><ul class="warn">${r.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul>` : ''}
${probeSection(r.probe)}
<h2>Clients (${e(r.clients.length)})</h2>
${r.clientsEvicted ? `<p class="none">${e(r.clientsEvicted)} older idle client records were dropped to keep the session bounded.</p>` : ''}
${r.clients.length ? r.clients.map(clientSection).join('\n') : '<p class="none">No client was seen.</p>'}
<h2>Log</h2>
${table(
  ['Time', 'Level', 'Source', 'Message', 'Details'],
  r.log.map((l) => [time(l.time), l.level, l.source, l.message, l.fields ? JSON.stringify(l.fields) : '']),
)}
</body></html>
`;
}

/** Both renderings of one report (the `report.export` channel's answer). */
export function renderReport(
  input: ReportInput,
  now: number,
  appVersion?: string,
): { json: string; html: string } {
  const report = buildReport(input, now, appVersion);
  return { json: reportJson(report), html: reportHtml(report) };
}

/** What the UI contract's `probe.run` and `report.export` need from a session. */
export interface ReportSource {
  reportData(): ReportInput;
}

/**
 * The `runProbe` / `exportReport` hooks for createUiApi, shared by the Electron shell and `serve --ui`
 * so both stay thin. The probe gets its own transport on the NIC (the session's, if running, keeps
 * its sockets); our own address is excluded so a running PXE Desk is not reported as "another server".
 */
export function foreignLanHooks(
  session: ReportSource,
  options: {
    appVersion?: string;
    helper?: 'auto' | 'always' | 'never';
    helperPath?: string;
    now?: () => number;
    interfaces?: () => Promise<NicInfo[]>;
  } = {},
): {
  runProbe: (iface: string) => Promise<ProbeResult>;
  exportReport: () => Promise<{ json: string; html: string }>;
} {
  const now = options.now ?? Date.now;
  return {
    runProbe: async (iface) => {
      const own = session.reportData().snapshot.endpoints?.tftp?.split(':')[0];
      return probeInterface({
        iface,
        helper: options.helper ?? 'auto',
        ...(options.helperPath ? { helperPath: options.helperPath } : {}),
        ...(own ? { ownAddresses: [own] } : {}),
        ...(options.interfaces ? { interfaces: options.interfaces } : {}),
      });
    },
    exportReport: async () => renderReport(session.reportData(), now(), options.appVersion),
  };
}
