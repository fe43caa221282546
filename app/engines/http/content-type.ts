/**
 * Content-Type for a served file, by extension: EDK2's HTTP boot tells an EFI binary from a RAM-disk
 * image (ISO or IMG) by this header, and iPXE scripts go as text (docs/protocol-notes.md §8).
 */
export function contentTypeFor(name: string): string {
  const lower = name.toLowerCase();
  const ext = lower.slice(lower.lastIndexOf('.') + 1);
  switch (ext) {
    case 'efi':
      return 'application/efi';
    case 'ipxe':
    case 'cfg':
    case 'txt':
      return 'text/plain; charset=utf-8';
    case 'iso':
      return 'application/vnd.efi-iso';
    case 'img':
      return 'application/vnd.efi-img';
    default:
      return 'application/octet-stream';
  }
}
