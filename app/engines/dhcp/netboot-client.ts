/**
 * "Is this a network-boot client": the one test, used by the boot decision, both DHCP engines, the codec's
 * Arch-in-option-60 parse and the preflight probe. A PXE ROM sends option 60 starting "PXEClient" (PXE 2.1,
 * the client's DHCPDISCOVER), a UEFI HTTP Boot client "HTTPClient" (UEFI specification, HTTP Boot chapter). The compare is a
 * case-sensitive prefix, as EDK2 and iPXE make it (docs/protocol-notes.md §4, test-catalogue D23-D25).
 */

export type NetbootClass = 'PXEClient' | 'HTTPClient';

/**
 * The network-boot class option 60 names, or undefined for any other client. Takes the raw option bytes
 * too, so the proxy's hot path builds no string per packet.
 */
export function netbootClassOf(vendorClass: string | Uint8Array | undefined): NetbootClass | undefined {
  if (vendorClass === undefined) return undefined;
  if (hasPrefix(vendorClass, 'PXEClient')) return 'PXEClient';
  if (hasPrefix(vendorClass, 'HTTPClient')) return 'HTTPClient';
  return undefined;
}

export function isNetbootClient(vendorClass: string | Uint8Array | undefined): boolean {
  return netbootClassOf(vendorClass) !== undefined;
}

function hasPrefix(value: string | Uint8Array, prefix: string): boolean {
  if (typeof value === 'string') return value.startsWith(prefix);
  if (value.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (value[i] !== prefix.charCodeAt(i)) return false;
  return true;
}
