/**
 * DHCP request builders for engine tests (docs/test-catalogue.md D/P/F/I/U): a BOOTREQUEST with chosen options, and a
 * PXE DISCOVER shaped like a PXE ROM's (60 PXEClient:Arch:..., 93, 94, 97).
 */
export const MAC = [0x52, 0x54, 0, 0xaa, 0xbb, 0xcc];
export const MAC_TEXT = '52:54:00:aa:bb:cc';
export const UUID = [0, ...Array.from({ length: 16 }, (_, i) => i + 1)];

/** Option 60 of a PXE ROM for `arch` (PXE 2.1: PXEClient:Arch:aaaaa:UNDI:mmmnnn). */
export const vc = (arch: number, kind = 'PXEClient'): number[] => [
  ...Buffer.from(`${kind}:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`),
];

export const ip = (s: string): number[] => s.split('.').map(Number);

/** A request of message type `type` (53) with `options` (END appended); `patch` edits the fixed header. */
export function build(type: number, options: number[], patch?: (b: Buffer) => void, mac = MAC): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(0xcafe0001, 4);
  Buffer.from(mac).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  patch?.(b);
  return Buffer.concat([b, Buffer.from([53, 1, type, ...options, 255])]);
}

export const pxeDiscover = (arch: number, extra: number[] = [], patch?: (b: Buffer) => void, mac = MAC) =>
  build(1, [60, 32, ...vc(arch), 93, 2, 0, arch, 94, 3, 1, 2, 1, 97, 17, ...UUID, ...extra], patch, mac);

/** Writes an IPv4 address into the header at `offset` (12 ciaddr, 24 giaddr). */
export const setIp = (offset: number, addr: string) => (b: Buffer) => {
  Buffer.from(ip(addr)).copy(b, offset);
};
