/**
 * What a probe's answers mean for starting a session: the verdicts (refuse full DHCP next to another
 * DHCP server) and the warnings a technician sees. Pure: servers in, text and verdicts out; the probe
 * that gathers the answers is probe.ts.
 */
import type { ProbeResult, ProbeServer, SessionMode } from '../shared/session-types.js';

export function sendsBootOptions(s: ProbeServer): boolean {
  return Boolean(s.bootFile || s.nextServer || s.pxeMenu);
}

function describeServer(s: ProbeServer): string {
  const boot = [
    s.bootFile ? `boot file ${s.bootFile}` : '',
    s.nextServer ? `next server ${s.nextServer}` : '',
    s.pxeMenu ? 'a PXE menu' : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${s.serverId}${boot ? ` (${boot})` : ''}`;
}

export const NO_DHCP_SERVER =
  'No DHCP server answered on this network: in proxy mode clients get no address and cannot boot. On an isolated bench use full DHCP mode instead.';

/**
 * The policy verdicts and warnings for a set of answering servers (issue 10 "Policy"). Pure.
 * Full DHCP is refused while any address-leasing server answers: two DHCP servers on one LAN hand out
 * conflicting addresses to everyone, not only to the machines being imaged.
 */
export function assessProbe(servers: readonly ProbeServer[]): Pick<ProbeResult, 'warnings' | 'refuse'> {
  const warnings: string[] = [];
  const dhcp = servers.filter((s) => s.kind === 'dhcp');
  const proxies = servers.filter((s) => s.kind === 'proxy');
  const booting = servers.filter(sendsBootOptions);
  const refuse: { dhcp?: string; proxy?: string } = {};
  if (dhcp.length > 0) {
    refuse.dhcp = `Another DHCP server answers on this network (${dhcp.map((s) => s.serverId).join(', ')}): full DHCP mode would hand out conflicting addresses. Use proxy mode here, or full mode only on an isolated switch.`;
  } else warnings.push(NO_DHCP_SERVER);
  if (proxies.length > 0)
    warnings.push(
      `Another proxyDHCP/PXE server answers here (${proxies.map(describeServer).join('; ')}): clients may boot from it instead of PXE Desk. Stop it, or serve from a separate network.`,
    );
  const siteBoot = booting.filter((s) => s.kind === 'dhcp');
  if (siteBoot.length > 0)
    warnings.push(
      `The site DHCP server already hands out boot options (${siteBoot.map(describeServer).join('; ')}): PXE clients may follow it instead of PXE Desk. Ask its admin to drop options 66/67 for these machines, or use an isolated switch.`,
    );
  return { warnings, ...(refuse.dhcp || refuse.proxy ? { refuse } : {}) };
}

/** The probe's warnings that matter for `mode` ("no DHCP server" is good news for full DHCP mode). */
export function warningsFor(result: ProbeResult, mode: SessionMode): string[] {
  if (mode === 'files') return [];
  return result.warnings.filter((w) => mode === 'proxy' || w !== NO_DHCP_SERVER);
}

/** The refusal (if any) for starting `mode` with this probe result. */
export function probeRefusal(result: ProbeResult, mode: SessionMode): string | undefined {
  if (mode === 'dhcp') return result.refuse?.dhcp;
  if (mode === 'proxy') return result.refuse?.proxy;
  return undefined;
}
