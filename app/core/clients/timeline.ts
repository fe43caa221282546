/**
 * The timeline view of a client: how each engine event becomes a line and a stage in its ClientRecord
 * (findings are the diagnosis rules' alone: this view never writes the row's `diagnosis`).
 * The client model (client-book.ts) owns the records, resolves which MAC an event belongs to and bounds
 * memory; these functions only write the record they are given, at most `maxEntries` lines per client.
 */
import { BoundedMemo } from '../../shared/bounded-memo.js';
import type { DhcpEvent, TransferEvent } from '../../shared/events.js';
import { firmwareLabel } from '../../shared/firmware.js';
import type { ClientRecord, ClientStage, TimelineEntry } from '../../shared/session-types.js';
import { fileRole, isRefusalMarker } from './file-roles.js';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type RecordDraft = Mutable<ClientRecord>;

/** Stages that stay until the client starts a new boot (a fresh DISCOVER). */
const TERMINAL: ReadonlySet<ClientStage> = new Set(['booted', 'refused', 'failed', 'stalled']);

export function isTerminal(stage: ClientStage): boolean {
  return TERMINAL.has(stage);
}

function kb(bytes: number): string {
  if (bytes >= 1_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return bytes >= 1000 ? `${Math.round(bytes / 1000)} kB` : `${bytes} B`;
}

export function newRecord(mac: string, time: number, vendor: string | undefined): RecordDraft {
  return { mac, stage: 'dhcp', firstSeen: time, lastSeen: time, timeline: [], ...(vendor ? { vendor } : {}) };
}

function push(client: RecordDraft, entry: TimelineEntry, maxEntries: number): void {
  const lines = client.timeline as TimelineEntry[];
  lines.push(entry);
  if (lines.length > maxEntries) lines.splice(0, lines.length - maxEntries);
  client.lastSeen = Math.max(client.lastSeen, entry.time);
}

/** A line of the client model's own (not an engine event's), at the client's current stage. */
export function noteLine(client: RecordDraft, time: number, text: string, maxEntries: number): void {
  push(client, { time, stage: client.stage, text }, maxEntries);
}

/**
 * Line texts that repeat from client to client ("DISCOVER (BIOS)", "OFFER → undionly.kpxe"): one string
 * each, shared by every record that has the line. Under a flood of new MACs each record lives a few
 * seconds, so a text built per event (a tree of template pieces) was copied by young-generation GCs and
 * then promoted with its record (issue 17); a shared one is built once. Keyed by the one part that varies
 * (the firmware, the boot file), so a lookup builds nothing; bounded, so odd boot file names cannot grow memory.
 */
const sharedTexts = (): BoundedMemo<string, string> => new BoundedMemo<string, string>(256);
const discoverTexts = [sharedTexts(), sharedTexts()] as const; // [firmware, firmware under iPXE]
const offerTexts = { offer: sharedTexts(), ack: sharedTexts() } as const; // by boot file

/** " (BIOS, iPXE)": the firmware the boot decision served, as shown in DHCP lines. */
function firmwareNote(id: DhcpEvent['client']): string {
  return id.firmware ? ` (${firmwareLabel(id.firmware)}${id.ipxe ? ', iPXE' : ''})` : '';
}

function discoverText(id: DhcpEvent['client']): string {
  if (!id.firmware) return 'DISCOVER';
  return discoverTexts[id.ipxe ? 1 : 0].get(id.firmware, () => `DISCOVER${firmwareNote(id)}`);
}

/** An OFFER/ACK line without an address (proxy mode: the site server leases it) is every client's same line. */
function offerText(type: 'offer' | 'ack', bootFile: string | undefined): string {
  return offerTexts[type].get(
    bootFile ?? '',
    () => `${type.toUpperCase()}${bootFile ? ` → ${bootFile}` : ''}`,
  );
}

export function applyDhcp(client: RecordDraft, event: DhcpEvent, maxEntries: number): void {
  const id = event.client;
  // The firmware the boot decision served (the engine's event carries it): one rule for row and reply.
  if (id.firmware) client.firmware = id.firmware;
  if (id.arch !== undefined) client.arch = id.arch;
  if (id.vendorClass) client.vendorClass = id.vendorClass;
  if (id.userClass) client.userClass = id.userClass;
  if (id.uuid) client.uuid = id.uuid;
  let stage: ClientStage = client.stage;
  let text: string;
  switch (event.type) {
    case 'discover':
      stage = 'dhcp';
      text = discoverText(id);
      break;
    case 'request':
      // After an offer the REQUEST is progress, not a restart: keep 'offered'.
      stage = client.stage === 'offered' ? 'offered' : 'dhcp';
      text = `REQUEST${event.ip ? ` ${event.ip}` : ''}${event.server ? ` from ${event.server}` : ''}${firmwareNote(id)}`;
      break;
    case 'offer':
    case 'ack':
      stage = 'offered';
      text = event.ip
        ? `${event.type.toUpperCase()} ${event.ip}${event.bootFile ? ` → ${event.bootFile}` : ''}`
        : offerText(event.type, event.bootFile);
      break;
    case 'pxe-request':
    case 'pxe-ack':
      stage = 'boot-server';
      text = `boot server ${event.type === 'pxe-ack' ? 'answer' : 'request'}${event.bootFile ? ` → ${event.bootFile}` : ''}`;
      break;
    case 'refusal':
      stage = 'refused';
      text = `not served: ${event.reason ?? 'refused'}`;
      break;
    case 'nak':
      text = `NAK${event.reason ? `: ${event.reason}` : ''}`;
      break;
    case 'foreign-offer':
      // Seen on 68 (issue 10): which offer the client may take instead of ours.
      text = `another DHCP server ${event.server ?? ''} answered${event.ip ? ` ${event.ip}` : ''}${event.bootFile ? ` → ${event.bootFile}` : ''}`;
      break;
    default:
      text = event.type.toUpperCase();
      break;
  }
  // A fresh DISCOVER after booting is a new boot attempt (reboot); anything else keeps the terminal stage.
  if (isTerminal(client.stage) && event.type !== 'discover' && stage !== 'refused') stage = client.stage;
  client.stage = stage;
  push(client, { time: event.time, stage, text }, maxEntries);
}

/** `started`: when this transfer began (the client model's open transfer), for the "in N s" of a done line. */
export function applyTransfer(
  client: RecordDraft,
  event: TransferEvent,
  started: number | undefined,
  maxEntries: number,
): void {
  const stage: ClientStage = event.engine;
  client.transfer = event;
  client.lastSeen = Math.max(client.lastSeen, event.time);
  const label = event.engine.toUpperCase();
  switch (event.type) {
    case 'start':
      client.stage = stage;
      push(
        client,
        {
          time: event.time,
          stage,
          text: `${label} ${event.file}`,
          file: event.file,
          ...(event.size !== undefined ? { size: event.size } : {}),
        },
        maxEntries,
      );
      break;
    case 'progress':
      client.stage = stage;
      break;
    case 'done': {
      const secs = ((event.time - (started ?? event.time)) / 1000).toFixed(1);
      // EDK2 asks for tsize and aborts (test-catalogue U6): a size question, not a finished download.
      const probe = event.detail?.probe === true;
      const final = !probe && fileRole(event.file) === 'payload';
      // GRUB on the signed chain fetching its refusal marker: the kernel before it did not start.
      client.stage = final ? 'booted' : isRefusalMarker(event.file) ? 'failed' : stage;
      push(
        client,
        {
          time: event.time,
          stage: client.stage,
          text: probe
            ? `${label} ${event.file}: size asked${event.size !== undefined ? ` (${kb(event.size)})` : ''}, download follows`
            : `${label} ${event.file} ${kb(event.bytes)} in ${secs} s`,
          file: event.file,
          bytes: event.bytes,
        },
        maxEntries,
      );
      break;
    }
    case 'failed':
      client.stage = 'failed';
      push(
        client,
        {
          time: event.time,
          stage: 'failed',
          text: `${label} ${event.file} failed: ${event.reason ?? 'unknown'}`,
          file: event.file,
          bytes: event.bytes,
        },
        maxEntries,
      );
      break;
  }
}

/**
 * The stall rule: an unfinished boot with no progress for `stallMs` becomes 'stalled' with a line
 * saying where it stopped; returns that place (" during x.efi at 4 kB", " after offered") when it marked
 * one, for the diagnosis (the row's headline comes from the diagnoses only).
 */
export function markStalled(
  client: RecordDraft,
  now: number,
  stallMs: number,
  maxEntries: number,
): string | undefined {
  if (isTerminal(client.stage) || now - client.lastSeen < stallMs) return undefined;
  // A download that arrived whole did not stall: what happened after it (a program that never ran under
  // Secure Boot, a loader that asked for nothing) is the diagnosis rules' to say, never "stalled during".
  const t = client.transfer;
  if (t?.type === 'done' && t.detail?.probe !== true) return undefined;
  const where = client.transfer
    ? ` during ${client.transfer.file} at ${kb(client.transfer.bytes)}`
    : ` after ${client.stage}`;
  push(client, { time: now, stage: 'stalled', text: `stalled${where}` }, maxEntries);
  client.stage = 'stalled';
  return where;
}
