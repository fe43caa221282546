/**
 * Values computed from a key that recurs (a boot file name, a vendor class, an address), kept so the hot
 * path builds each once, and bounded so that odd keys from clients cannot grow memory: when `limit` keys
 * are held, the memo starts over. Under a flood of new MACs (issue 17) this also makes every record share
 * one string per value instead of keeping its own copy alive through young-generation GCs.
 */
export class BoundedMemo<K, V> {
  private readonly values = new Map<K, V>();

  constructor(private readonly limit: number) {}

  /** The value for key, made by `make` when not held. */
  get(key: K, make: (key: K) => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      if (this.values.size >= this.limit) this.values.clear();
      value = make(key);
      this.values.set(key, value);
    }
    return value;
  }
}

const ipv4Texts = new BoundedMemo<number, string>(256);

/**
 * Dotted text of the IPv4 address in 4 bytes at `at` (a DHCP header field, a helper frame's address):
 * the same few addresses (0.0.0.0, 255.255.255.255, the relay, the server) arrive with every datagram.
 */
export function ipv4TextAt(b: Uint8Array, at: number): string {
  const key =
    (((b[at] ?? 0) << 24) | ((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0)) >>> 0;
  return ipv4Texts.get(key, (k) => `${k >>> 24}.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}`);
}
