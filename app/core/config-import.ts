/**
 * Imports other tools' configs as CLI-option records (same keys as app/cli/args.ts), so a config
 * file and flags merge one way: file values first, flags override.
 * - proxyDHCPd INI: `[proxy]` listen_address, tftpd, interface, filename, filename_efi32/64,
 *   vendor_specific_information;
 *   `[ipxe]` enabled, legacy_bootstrap, efi_bootstrap, chainload_url.
 * - PyPXE JSON: NETBOOT_DIR, NETBOOT_FILE, DHCP_SERVER_IP, DHCP_OFFER_BEGIN/END, DHCP_SUBNET, DHCP_ROUTER,
 *   DHCP_DNS, DHCP_FILESERVER, DHCP_MODE_PROXY, USE_DHCP, STATIC_CONFIG, SAVE_LEASES, DHCP_WHITELIST, …
 */
export type ImportedValue = string | boolean | string[];
export type Imported = Record<string, ImportedValue>;

export function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = head[1]!.trim().toLowerCase();
      out[section] ??= {};
      continue;
    }
    const eq = line.search(/[=:]/);
    if (eq < 0) continue;
    (out[section] ??= {})[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return out;
}

const truthy = (v: string | undefined): boolean => /^(1|yes|true|on)$/i.test(v ?? '');

export function importProxyDhcpdIni(text: string): Imported {
  const ini = parseIni(text);
  const proxy = ini.proxy ?? {};
  const ipxe = ini.ipxe ?? {};
  const out: Imported = { mode: 'proxy' };
  if (proxy.listen_address && proxy.listen_address !== '0.0.0.0') out.address = proxy.listen_address;
  if (proxy.interface) out.iface = proxy.interface;
  if (proxy.tftpd) out.fileServer = proxy.tftpd;
  const bootFiles: string[] = [];
  if (truthy(ipxe.enabled)) {
    if (ipxe.legacy_bootstrap) bootFiles.push(`bios=${ipxe.legacy_bootstrap}`);
    if (ipxe.efi_bootstrap) bootFiles.push(`uefi-x64=${ipxe.efi_bootstrap}`);
    if (ipxe.chainload_url) out.chainloadUrl = ipxe.chainload_url;
  } else {
    // Without iPXE proxyDHCPd picks filename_efi32 (arch 6) / filename_efi64 (7, 9), else filename.
    if (proxy.filename) out.netbootFile = proxy.filename;
    if (proxy.filename_efi32) bootFiles.push(`uefi-ia32=${proxy.filename_efi32}`);
    if (proxy.filename_efi64) bootFiles.push(`uefi-x64=${proxy.filename_efi64}`);
  }
  if (bootFiles.length) out.bootFile = bootFiles;
  // proxyDHCPd sends this text raw as option 43 (default "proxyDHCPd", quotes included by
  // ConfigParser). PXE ROMs parse 43 as sub-options, so only hex sub-options are taken over; text is
  // dropped with a note (docs/cli.md "Importing proxyDHCPd").
  const vsi = proxy.vendor_specific_information?.replace(/^(["'])(.*)\1$/, '$2').trim();
  if (vsi) {
    if (/^(0x)?([0-9a-f]{2}[\s:.-]?)+$/i.test(vsi)) out.vendorOptions = vsi;
    else
      out.importNotes = [
        `proxyDHCPd vendor_specific_information "${vsi}" is text, not PXE sub-options: not sent as option 43 (give hex bytes such as 06:01:08:ff to send one).`,
      ];
  }
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

export function importPyPxeJson(data: Record<string, unknown>): Imported {
  const out: Imported = {};
  const set = (key: string, v: unknown): void => {
    const s = str(v);
    if (s !== undefined) out[key] = s;
  };
  set('root', data.NETBOOT_DIR);
  set('netbootFile', data.NETBOOT_FILE);
  if (data.USE_IPXE === true) out.ipxe = true;
  set('address', data.DHCP_SERVER_IP);
  set('fileServer', data.DHCP_FILESERVER ?? data.DHCP_FILESERVER_IP);
  set('rangeStart', data.DHCP_OFFER_BEGIN);
  set('rangeEnd', data.DHCP_OFFER_END);
  set('subnet', data.DHCP_SUBNET);
  set('router', data.DHCP_ROUTER);
  set('dhcpPort', data.DHCP_SERVER_PORT);
  set('staticLeases', data.STATIC_CONFIG);
  set('leasesFile', data.LEASES_FILE);
  const dns = str(data.DHCP_DNS);
  if (dns) out.dns = dns.split(',').map((s) => s.trim());
  set('debug', data.MODE_DEBUG);
  set('verbose', data.MODE_VERBOSE);
  // PyPXE: DHCP_WHITELIST true = answer only the MACs of STATIC_CONFIG (older forks: a MAC list).
  if (data.DHCP_WHITELIST === true) out.whitelist = true;
  else if (Array.isArray(data.DHCP_WHITELIST) && data.DHCP_WHITELIST.length)
    out.allow = data.DHCP_WHITELIST.filter((m): m is string => typeof m === 'string');
  const syslog = str(data.SYSLOG_SERVER);
  if (syslog)
    out.syslog = data.SYSLOG_PORT !== undefined ? `${syslog}:${str(data.SYSLOG_PORT) ?? '514'}` : syslog;
  const notes: string[] = [];
  for (const [key, what] of [
    ['USE_TFTP', 'TFTP'],
    ['USE_HTTP', 'HTTP'],
    ['USE_IPXE', 'iPXE chainloading'],
  ] as const)
    if (data[key] === false) notes.push(`PyPXE ${key}=false ignored: PXE Desk always serves ${what}.`);
  if (str(data.DHCP_BROADCAST))
    notes.push('PyPXE DHCP_BROADCAST ignored: replies go to 255.255.255.255 (or the relay).');
  if (str(data.NBD_BLOCK_DEVICE)) notes.push('PyPXE NBD_* settings ignored: PXE Desk has no NBD server.');
  if (notes.length) out.importNotes = notes;
  if (data.DHCP_MODE_PROXY === true) out.mode = 'proxy';
  else if (data.USE_DHCP === true) out.mode = 'dhcp';
  if (data.SAVE_LEASES === true && !out.leasesFile) out.leasesFile = 'pxe-desk-leases.json';
  return out;
}

/** True when a parsed JSON object looks like PyPXE's (upper-case keys). */
export function isPyPxeJson(data: Record<string, unknown>): boolean {
  return Object.keys(data).some((k) => /^(NETBOOT_DIR|USE_DHCP|DHCP_[A-Z_]+|USE_TFTP)$/.test(k));
}
