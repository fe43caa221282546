import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DhcpDecodeError,
  Opt,
  clientArchs,
  decode,
  encode,
  macOf,
  messageType,
  subOptions,
  userClasses,
} from '../../app/engines/dhcp/index.js';
import { clientUuid, uuidString } from '../../app/engines/dhcp/codec.js';
import { readPcapUdp } from '../helpers/pcap.js';

const dir = join(import.meta.dirname, '../fixtures/pcaps');
const pcap = (name: string) => readPcapUdp(join(dir, name));

/** A minimal valid DISCOVER with the given option bytes. */
function packet(options: number[], patch?: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(240);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.writeUInt32BE(0x12345678, 4);
  Buffer.from([0x52, 0x54, 0, 1, 2, 3]).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  patch?.(b);
  return Buffer.concat([b, Buffer.from(options)]);
}

describe('DHCP codec on real firmware packets', () => {
  it('decodes every DHCP datagram in the lab captures and re-encodes them field-exactly', () => {
    let n = 0;
    for (const f of readdirSync(dir)) {
      for (const p of pcap(f)) {
        if (![67, 68, 4011].includes(p.dstPort)) continue;
        const m = decode(p.payload);
        const again = decode(encode(m, { maxMessageSize: 1500 }));
        expect(again.xid).toBe(m.xid);
        expect(again.chaddr.equals(m.chaddr)).toBe(true);
        expect([...again.options.keys()]).toEqual([...m.options.keys()]);
        for (const [k, v] of m.options) expect(again.options.get(k)?.equals(v)).toBe(true);
        n++;
      }
    }
    expect(n).toBeGreaterThan(50);
  });

  it('BIOS iPXE ROM DISCOVER: arch 0, raw user class iPXE, option 175', () => {
    const p = pcap('bios-proxy-tftp.pcap')[0]!;
    const m = decode(p.payload);
    expect(messageType(m)).toBe(1);
    expect(macOf(m)).toBe('52:54:00:77:00:01');
    expect(clientArchs(m)).toEqual([0]);
    expect(m.options.get(Opt.vendorClass)?.toString()).toBe('PXEClient:Arch:00000:UNDI:002001');
    expect(userClasses(m)).toEqual(['iPXE']);
    expect(m.options.has(Opt.ipxeEncap)).toBe(true);
    expect(m.options.get(Opt.clientNdi)?.toString('hex')).toBe('010201');
  });

  it('OVMF DISCOVER and 4011 request from source port 4011', () => {
    const pk = pcap('uefi-proxy-tftp.pcap');
    const m = decode(pk[0]!.payload);
    expect(clientArchs(m)).toEqual([7]);
    expect(m.options.get(Opt.clientUuid)?.length).toBe(17);
    const r = pk.find((p) => p.dstPort === 4011)!;
    expect(r.srcPort).toBe(4011);
    expect(messageType(decode(r.payload))).toBe(3);
  });

  it('BIOS boot-server REQUEST carries 43.71 type 0x8003 layer 0', () => {
    const r = pcap('bios-proxy-tftp.pcap').find((p) => p.dstPort === 4011)!;
    const item = subOptions(decode(r.payload).options.get(Opt.vendorSpecific)).get(71);
    expect(item?.toString('hex')).toBe('80030000');
  });

  it('HTTP boot DISCOVER: arch 16, HTTPClient', () => {
    const m = decode(pcap('uefi-httpboot.pcap')[0]!.payload);
    expect(clientArchs(m)).toEqual([16]);
    expect(m.options.get(Opt.vendorClass)?.toString().startsWith('HTTPClient')).toBe(true);
  });
});

describe('DHCP codec robustness (catalogue D)', () => {
  const bad = (b: Buffer) => expect(() => decode(b)).toThrow(DhcpDecodeError);
  it('D1/D2 short and option-less packets', () => {
    bad(Buffer.alloc(100));
    const m = decode(packet([]));
    expect(messageType(m)).toBeUndefined();
  });
  it('D3 bad cookie with option 53', () =>
    bad(packet([53, 1, 1, 255], (b) => b.writeUInt32BE(0x63825364, 236))));
  it('D5/D6 hlen and htype', () => {
    bad(packet([53, 1, 1], (b) => (b[2] = 17)));
    bad(packet([53, 1, 1], (b) => ((b[1] = 0), (b[2] = 6))));
  });
  it('D7/D8 truncated options', () => {
    bad(packet([53, 1, 1, 60, 255, ...Buffer.alloc(10)]));
    bad(packet([53, 1, 1, 60]));
  });
  it('D9/D10/D11 no END, PADs, bytes after END', () => {
    expect(messageType(decode(packet([53, 1, 1])))).toBe(1);
    expect(messageType(decode(packet([0, 0, 53, 1, 1, 0, 255, 1, 2, 3])))).toBe(1);
  });
  it('D13/D14 invalid or repeated 53', () => {
    expect(messageType(decode(packet([53, 0])))).toBeUndefined();
    expect(messageType(decode(packet([53, 1, 9])))).toBeUndefined();
    expect(messageType(decode(packet([53, 1, 1, 53, 1, 3])))).toBeUndefined();
  });
  it('D15/D16/D17/D18 option overload: in file, broken sname, nested, out-of-range value', () => {
    const inFile = packet([52, 1, 1, 255], (b) =>
      Buffer.from([53, 1, 1, 60, 9, ...Buffer.from('PXEClient'), 255]).copy(b, 108),
    );
    const m = decode(inFile);
    expect(messageType(m)).toBe(1);
    expect(m.options.get(Opt.vendorClass)?.toString()).toBe('PXEClient');
    expect(m.file).toBe('');
    const broken = packet([53, 1, 1, 52, 1, 3, 255], (b) => ((b[108] = 60), (b[109] = 200)));
    expect(messageType(decode(broken))).toBe(1);
    const nested = packet([52, 1, 1, 255], (b) => Buffer.from([52, 1, 2, 53, 1, 1, 255]).copy(b, 108));
    expect(messageType(decode(nested))).toBe(1);
    const zero = packet([52, 1, 0, 53, 1, 1, 255], (b) => b.write('pxelinux.0', 108));
    expect(decode(zero).file).toBe('pxelinux.0');
  });
  it('D19 1000 PADs then options', () => {
    expect(messageType(decode(packet([...Buffer.alloc(1000), 53, 1, 1, 255])))).toBe(1);
  });
  it('D20 concatenation bomb is capped', () => {
    const opts: number[] = [];
    for (let i = 0; i < 300; i++) opts.push(60, 255, ...Buffer.alloc(255, 65));
    bad(packet(opts));
  });
  it('RFC 3396: repeated options concatenate; encode splits long ones', () => {
    const m = decode(packet([53, 1, 1, 60, 3, 65, 66, 67, 60, 2, 68, 69]));
    expect(m.options.get(Opt.vendorClass)?.toString()).toBe('ABCDE');
    m.options.set(Opt.vendorSpecific, Buffer.alloc(300, 7));
    const out = encode(m, { maxMessageSize: 1500 });
    expect(decode(out).options.get(Opt.vendorSpecific)?.length).toBe(300);
  });
  it('D21/D22 odd 93 falls back to Arch in 60', () => {
    const m = decode(
      packet([53, 1, 1, 93, 3, 0, 7, 0, 60, 32, ...Buffer.from('PXEClient:Arch:00009:UNDI:003000')]),
    );
    expect(clientArchs(m)).toEqual([9]);
  });
  it('encode: pads to 300, never writes 52, NUL-terminates, respects 576 and option 57', () => {
    const m = decode(packet([53, 1, 1]));
    m.options.set(Opt.overload, Buffer.from([3]));
    m.file = 'undionly.kpxe';
    const out = encode(m);
    expect(out.length).toBe(300);
    expect(out[108 + 13]).toBe(0);
    expect(decode(out).options.has(Opt.overload)).toBe(false);
    m.options.set(200, Buffer.alloc(255));
    m.options.set(201, Buffer.alloc(255));
    expect(() => encode(m)).toThrow(RangeError);
    expect(() => encode(m, { maxMessageSize: 100 })).toThrow(RangeError); // D28 clamps up to 576
    expect(encode(m, { maxMessageSize: 1500 }).length).toBeLessThanOrEqual(1472);
  });
});

describe('MAC and UUID text (one flat string each, read out of a scratch buffer)', () => {
  it('spells chaddr by hlen: 6 by default (hlen 0), up to 16 bytes, lower-case hex', () => {
    const hex = (n: number) => (b: Buffer) => {
      b[2] = n;
      Buffer.from([
        0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0x06, 0x17,
      ]).copy(b, 28);
    };
    expect(macOf(decode(packet([255], hex(6))))).toBe('ab:cd:ef:01:23:45');
    expect(macOf(decode(packet([255], hex(0))))).toBe('ab:cd:ef:01:23:45');
    expect(macOf(decode(packet([255], hex(16))))).toBe('ab:cd:ef:01:23:45:67:89:a0:b1:c2:d3:e4:f5:06:17');
    // Two MACs in a row: the scratch buffer never leaks one into the other.
    expect([macOf(decode(packet([255], hex(1)))), macOf(decode(packet([255])))]).toEqual([
      'ab',
      '52:54:00:01:02:03',
    ]);
  });

  it('shows option 97 as 8-4-4-4-12 hex digits of its 16 bytes after the type octet', () => {
    const guid = Array.from({ length: 16 }, (_, i) => (i * 17 + 3) & 0xff);
    const m = decode(packet([97, 17, 0, ...guid, 255]));
    const uuid = clientUuid(m);
    expect(uuid).toBeDefined();
    const h = Buffer.from(guid).toString('hex');
    expect(uuidString(uuid!)).toBe(
      `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
    );
    expect(uuidString(uuid!)).toBe('03142536-4758-697a-8b9c-adbecfe0f102');
  });
});
