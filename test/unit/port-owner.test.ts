import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { udpInodes, udpPortOwner } from '../../app/transport/port-owner.js';

// /proc/net/udp as Linux prints it: port 67 (0x0043) on 0.0.0.0 and on 10.0.0.1, 68 elsewhere.
const SAMPLE = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41234 2 0000000000000000 0
  124: 0100000A:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41235 2 0000000000000000 0
  125: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 51000 2 0000000000000000 0
  126: garbage
`;

describe('port owner (/proc)', () => {
  it('finds the socket inodes of a UDP port', () => {
    expect([...udpInodes(SAMPLE, 67)]).toEqual(['41234', '41235']);
    expect([...udpInodes(SAMPLE, 68)]).toEqual(['51000']);
    expect(udpInodes(SAMPLE, 69).size).toBe(0);
    expect(udpInodes('', 67).size).toBe(0);
  });

  it.skipIf(process.platform !== 'linux')(
    'names this process as the holder of a socket it bound',
    async () => {
      const s = createSocket('udp4');
      await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
      try {
        expect(udpPortOwner(s.address().port)).toEqual({ pid: process.pid, name: expect.any(String) });
      } finally {
        s.close();
      }
      expect(udpPortOwner(1)).toBeUndefined();
    },
  );
});
