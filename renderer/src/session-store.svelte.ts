/**
 * The renderer's state and the calls that change it, shared by the components (Svelte 5 runes).
 *
 * Facts about clients (records, blocks, loop-breaker pauses, boot overrides, evictions) are the session's:
 * the page shows what the snapshot and the events say and keeps no copy of its own, so a reload shows the
 * same table. Library state lives in library-store.svelte.ts.
 *
 * Nothing here sends a DHCP packet on its own: the page may *suggest* a card, but the network check and
 * Start run only on a card the user picked (or on the suggestion when the user presses Check or Start).
 */
import { untrack } from 'svelte';
import { CONTRACT_VERSION, isAbsolutePath, isSessionMode } from '../../app/shared/ipc-contract.js';
import type { LogRecord } from '../../app/shared/runtime.js';
import { isSecureBootMode, type SecureBootMode } from '../../app/shared/secure-boot.js';
import type {
  ClientRecord,
  NicInfo,
  ProbeResult,
  SessionConfig,
  SessionMode,
  SessionSnapshot,
} from '../../app/shared/session-types.js';
import { pxe } from './client.js';
import { download, fileStamp } from './download.js';
import { dhcpFormErrors, prefillDhcp, type DhcpForm } from './format.js';
import { LibraryStore } from './library-store.svelte.js';

export interface ProbeState {
  iface: string;
  running: boolean;
  result?: ProbeResult;
  error?: string;
}

/** Arrowing through the card list must not fire one DHCPDISCOVER per card passed. */
const PROBE_DELAY_MS = 400;
/** How soon after a new machine the page re-reads the whole snapshot (at most this often). */
const RESYNC_MS = 5000;
/** Log lines kept by the page (the session keeps its own, bounded, for the report). */
const MAX_LOG_LINES = 2000;

export class SessionStore {
  nics = $state.raw<NicInfo[]>([]);
  /** The card the user picked (or the one the running session uses): never chosen by the page itself. */
  iface = $state('');
  mode = $state<SessionMode>('proxy');
  /** Which UEFI PCs get the signed chain shim → GRUB (the session decides per machine in auto). */
  secureBoot = $state<SecureBootMode>('auto');
  form = $state<DhcpForm>({ rangeStart: '', rangeEnd: '', router: '', dns: '' });
  /** The session as it last said: replaced whole (state events) or one record at a time (client events). */
  snapshot = $state.raw<SessionSnapshot>({ state: 'idle', clients: [], warnings: [] });
  logs = $state.raw<LogRecord[]>([]);
  error = $state('');
  notice = $state('');
  busy = $state(false);
  probe = $state<ProbeState | undefined>();
  override = $state(false);
  warningsOpen = $state(true);
  announcement = $state('');
  now = $state(Date.now());
  readonly library = new LibraryStore(this);
  /** The user changed the mode before the command line's default arrived: theirs wins. */
  private modeTouched = false;
  private secureBootTouched = false;
  private resync: ReturnType<typeof setTimeout> | undefined;

  nic = $derived(this.nics.find((n) => n.name === this.iface));
  /** A card the page suggests (marked in the list); used only when the user presses Check or Start. */
  suggested = $derived(this.iface ? undefined : this.nics.find((n) => !n.unsuitable));
  running = $derived(this.snapshot.state === 'running' || this.snapshot.state === 'starting');
  /** Client rows in the order the machines appeared: the session's records, as it last sent them. */
  clientList = $derived([...this.snapshot.clients].sort((a, b) => a.firstSeen - b.firstSeen));
  dhcpErrors = $derived(this.mode === 'dhcp' ? dhcpFormErrors(this.form, this.nic) : []);
  refusal = $derived(
    this.probe?.result && this.probe.iface === this.iface && !this.override
      ? this.mode === 'dhcp'
        ? this.probe.result.refuse?.dhcp
        : this.mode === 'proxy'
          ? this.probe.result.refuse?.proxy
          : undefined
      : undefined,
  );
  /** Why Start cannot be pressed right now (shown next to the button), or '' when it can. */
  startBlocker = $derived(
    this.running
      ? ''
      : !this.iface && !this.suggested
        ? this.mode === 'files'
          ? 'Choose the network card whose address the machines fetch files from.'
          : 'Choose the network card the machines are plugged into.'
        : !this.library.root
          ? 'Choose the netboot folder.'
          : this.dhcpErrors.length
            ? this.dhcpErrors[0]!
            : this.refusal
              ? `${this.mode === 'dhcp' ? 'Full DHCP' : 'Proxy mode'} is refused on this network (see the network check).`
              : '',
  );

  setMode(mode: SessionMode): void {
    this.modeTouched = true;
    this.mode = mode;
  }

  setSecureBoot(mode: SecureBootMode): void {
    this.secureBootTouched = true;
    this.secureBoot = mode;
  }

  async refreshNics(): Promise<void> {
    const r = await pxe.invoke('interfaces.list', null);
    if (!r.ok) {
      // Polled every 2 s: say it once, not as a blinking banner.
      if (this.error !== r.message) this.error = r.message;
      return;
    }
    // Only replace the list when something changed (link state, address): no flicker, focus kept.
    if (JSON.stringify(r.value) !== JSON.stringify(this.nics)) this.nics = r.value;
  }

  /** The user picked a card: the DHCP form follows its subnet, and the network check may run there. */
  chooseNic(name: string): void {
    this.iface = name;
    const f = prefillDhcp(this.nics.find((n) => n.name === name));
    if (f) this.form = f;
  }

  /** Check: on the picked card, else on the suggested one (pressing Check is the user's choice of it). */
  async runProbe(): Promise<void> {
    if (!this.iface && this.suggested) this.chooseNic(this.suggested.name);
    const target = this.iface;
    if (!target) return;
    this.override = false;
    this.probe = { iface: target, running: true };
    const r = await pxe.invoke('probe.run', { iface: target });
    if (this.iface !== target) return; // the user picked another card meanwhile
    this.probe = r.ok
      ? { iface: target, running: false, result: r.value }
      : { iface: target, running: false, error: r.message };
  }

  /**
   * Look before serving (issue 10): once the user has picked a card for a DHCP mode, check it. For an
   * `$effect` in the root component; returns the cleanup that cancels a check not yet sent.
   */
  probeWhenChosen(): (() => void) | undefined {
    const i = this.iface;
    if (!i || this.mode === 'files' || this.running) return undefined;
    const timer = setTimeout(() => {
      untrack(() => {
        if (this.probe?.iface !== i && this.iface === i && !this.running && !this.busy) void this.runProbe();
      });
    }, PROBE_DELAY_MS);
    return () => clearTimeout(timer);
  }

  private buildConfig(): SessionConfig {
    const { mode, iface, nic } = this;
    const root = this.library.root;
    // Files mode sends no DHCP: it only needs an address to listen on, the suggested card's will do.
    const filesNic = nic ?? this.suggested;
    const base = {
      mode,
      root,
      ...(iface && mode !== 'files' ? { iface } : {}),
      ...(mode === 'files' && filesNic?.ipv4 ? { address: filesNic.ipv4.address } : {}),
      ...(this.override && this.probe?.iface === iface ? { overrideForeignDhcp: true } : {}),
      secureBoot: this.secureBoot,
    };
    if (mode !== 'dhcp' || !nic?.ipv4) return base;
    const form = this.form;
    return {
      ...base,
      dhcp: {
        rangeStart: form.rangeStart.trim(),
        rangeEnd: form.rangeEnd.trim(),
        prefixLength: nic.ipv4.prefixLength,
        ...(form.router.trim() ? { router: form.router.trim() } : {}),
        ...(form.dns.trim() ? { dns: form.dns.split(',').map((d) => d.trim()) } : {}),
      },
    };
  }

  async toggle(): Promise<void> {
    this.error = '';
    this.busy = true;
    try {
      if (this.running) {
        const r = await pxe.invoke('session.stop', null);
        if (r.ok) this.snapshot = r.value;
        else this.error = r.message;
        return;
      }
      if (this.startBlocker) {
        this.error = this.startBlocker;
        return;
      }
      // Start on the suggestion is the user's choice of that card (it is marked in the list).
      if (!this.iface && this.suggested && this.mode !== 'files') this.chooseNic(this.suggested.name);
      const r = await pxe.invoke('session.start', this.buildConfig());
      if (r.ok) {
        this.snapshot = r.value;
        if (r.value.error) this.error = r.value.error.message;
      } else this.error = r.message;
    } finally {
      this.busy = false;
    }
  }

  /** Re-reads the session's records: after an action the table shows what the session now holds. */
  async rereadSnapshot(): Promise<void> {
    const snap = await pxe.invoke('session.snapshot', null);
    if (snap.ok) this.applySnapshot(snap.value);
  }

  /**
   * A new machine appeared: the session may have dropped idle records to stay bounded (clientsEvicted),
   * which no client event says. Re-read the whole snapshot soon, at most every RESYNC_MS, so the page holds
   * what the session holds and its eviction counter follows, even through a flood of new MACs.
   */
  private resyncSoon(): void {
    if (this.resync) return;
    this.resync = setTimeout(() => {
      this.resync = undefined;
      void this.rereadSnapshot();
    }, RESYNC_MS);
  }

  private applySnapshot(snapshot: SessionSnapshot): void {
    this.snapshot = snapshot;
    // A window opened on a running session shows the card and mode it runs with (the user's choice then).
    if ((snapshot.state === 'running' || snapshot.state === 'starting') && snapshot.config) {
      this.mode = snapshot.config.mode;
      this.secureBoot = snapshot.config.secureBoot ?? 'auto';
      if (snapshot.config.iface) this.iface = snapshot.config.iface;
      if (this.library.root !== snapshot.config.root) void this.library.setRoot(snapshot.config.root);
    }
    if (snapshot.probe && snapshot.probe.iface === this.iface && !this.probe?.running)
      this.probe = { iface: this.iface, running: false, result: snapshot.probe };
  }

  /** One client record changed: replace it in the snapshot's list (or add it). */
  private applyClient(client: ClientRecord): void {
    const list = this.snapshot.clients;
    const at = list.findIndex((c) => c.mac === client.mac);
    const before = at >= 0 ? list[at]!.stage : undefined;
    const clients = at >= 0 ? list.with(at, client) : [...list, client];
    this.snapshot = { ...this.snapshot, clients };
    if (at < 0) this.resyncSoon();
    // Screen readers hear when a machine finishes or gets stuck (not every progress tick).
    if (before !== client.stage && ['booted', 'failed', 'stalled', 'refused'].includes(client.stage))
      this.announcement = `${client.mac} ${client.stage}${client.diagnosis ? `: ${client.diagnosis}` : ''}`;
  }

  async act(
    mac: string,
    action:
      | { kind: 'block' | 'unblock' | 'forget' | 'boot-menu' }
      | { kind: 'boot-entry' | 'boot-once'; entry: string },
  ): Promise<void> {
    const r = await pxe.invoke('client.action', { mac, action });
    if (!r.ok) {
      this.error = r.message;
      return;
    }
    this.error = '';
    const what: Record<typeof action.kind, string> = {
      block: 'is blocked: PXE Desk will not answer it',
      unblock: 'is no longer blocked',
      forget: 'was removed from the list',
      'boot-menu': 'gets the boot menu again',
      'boot-entry': `will boot ${'entry' in action ? action.entry : ''} every time (no menu)`,
      'boot-once': `will boot ${'entry' in action ? action.entry : ''} on its next boot, then the menu again`,
    };
    this.notice = `${mac} ${what[action.kind]}.`;
    // The row shows the session's block, pause and boot override (unblocking also lifts the loop breaker).
    await this.rereadSnapshot();
    if (action.kind.startsWith('boot')) await this.library.refresh();
  }

  async exportReport(): Promise<void> {
    const r = await pxe.invoke('report.export', null);
    if (!r.ok) {
      this.error = `Report not available: ${r.message}`;
      return;
    }
    const stamp = fileStamp();
    download(`pxe-desk-report-${stamp}.html`, r.value.html, 'text/html');
    download(`pxe-desk-report-${stamp}.json`, r.value.json, 'application/json');
    this.notice = 'Report saved (HTML and JSON): attach it to the ticket.';
  }

  /** Reads everything once and follows the session's events; returns the cleanup for onMount. */
  connect(): () => void {
    // A window from another build (an old tab, a mismatched shell) must not half-work: say so.
    void pxe.invoke('app.version', null).then((r) => {
      if (r.ok && r.value.contract !== CONTRACT_VERSION)
        this.error = `This window speaks contract ${CONTRACT_VERSION}, PXE Desk ${r.value.app} speaks ${r.value.contract}: reload the page or update the app.`;
    });
    // The command line's starting mode and folder (`serve --ui --mode files --root DIR`).
    void pxe.invoke('ui.defaults', null).then((r) => {
      if (!r.ok) return;
      if (isSessionMode(r.value.mode) && !this.modeTouched && !this.running) this.mode = r.value.mode;
      if (isSecureBootMode(r.value.secureBoot) && !this.secureBootTouched && !this.running)
        this.secureBoot = r.value.secureBoot;
      if (isAbsolutePath(r.value.root) && !this.library.root) void this.library.setRoot(r.value.root);
    });
    void this.refreshNics();
    void pxe.invoke('session.snapshot', null).then((r) => {
      if (r.ok) this.applySnapshot(r.value);
    });
    const off = pxe.onEvent((e) => {
      if (e.type === 'state') this.applySnapshot(e.snapshot);
      else if (e.type === 'client') this.applyClient(e.client);
      else if (e.type === 'log') this.logs = [...this.logs.slice(-(MAX_LOG_LINES - 1)), e.record];
      else if (e.type === 'warning') {
        // Listed in the session's warnings banner (opened again for each new one); with no session
        // running there is no such banner, so it is a notice.
        this.warningsOpen = true;
        if (!this.running) this.notice = e.message;
        if (!this.snapshot.warnings.includes(e.message))
          this.snapshot = { ...this.snapshot, warnings: [...this.snapshot.warnings, e.message] };
      } else if (e.type === 'probe' && e.result.iface === this.iface && !this.probe?.running)
        this.probe = { iface: this.iface, running: false, result: e.result };
      else if (e.type === 'library-import' || e.type === 'library-changed') this.library.onEvent(e);
    });
    const timer = setInterval(() => (this.now = Date.now()), 1000);
    // Cards come and go (cable plugged, address from DHCP, VPN up): re-read them while the page is shown.
    const nicTimer = setInterval(() => {
      if (document.visibilityState === 'visible') void this.refreshNics();
    }, 2000);
    return () => {
      off();
      clearInterval(timer);
      clearInterval(nicTimer);
      clearTimeout(this.resync);
    };
  }
}
