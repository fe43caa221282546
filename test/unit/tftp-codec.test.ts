/** Pure codec and negotiation rules (RFC 2347-2349, RFC 7440; docs/protocol-notes.md §9; T5–T11, S8, S15, T22). */
import { describe, expect, it } from 'vitest';
import { negotiate } from '../../app/engines/tftp/index.js';
import { TftpDecodeError, decodeRequest, sanitiseName, toNetascii } from '../../app/engines/tftp/packet.js';
import { REFUSAL_ANSWER, splitName } from '../../app/engines/files/confine.js';

const rrq = (...fields: string[]): Buffer =>
  Buffer.concat([Buffer.from([0, 1]), Buffer.from(fields.map((f) => `${f}\0`).join(''), 'latin1')]);

describe('tftp codec', () => {
  it('decodes name, lower-cased mode and options in order', () => {
    const r = decodeRequest(rrq('boot.efi', 'OCTET', 'BLKSIZE', '1024', 'tsize', '0'));
    expect(r).toEqual({
      opcode: 1,
      filename: 'boot.efi',
      mode: 'octet',
      options: [
        { name: 'BLKSIZE', value: '1024' },
        { name: 'tsize', value: '0' },
      ],
    });
  });

  it('S8: the name ends at the first NUL; S9/S11 malformed throws', () => {
    expect(decodeRequest(rrq('ok.bin', '../../x', 'octet')).mode).toBe('../../x');
    expect(() => decodeRequest(Buffer.from('\0\x01noterm', 'latin1'))).toThrow(TftpDecodeError);
    expect(() => decodeRequest(rrq('x'.repeat(2000), 'octet'))).toThrow(TftpDecodeError);
    expect(() => decodeRequest(Buffer.from([0, 3, 0, 1]))).toThrow(TftpDecodeError);
  });

  it('negotiates with EDK2 rules', () => {
    const req = (opts: string[]) => decodeRequest(rrq('f', 'octet', ...opts));
    expect(negotiate(req(['blksize', '65464']), 10, 1500).oack).toEqual([{ name: 'blksize', value: '1468' }]);
    expect(negotiate(req(['blksize', '1024']), 10, 1500).blksize).toBe(1024);
    expect(negotiate(req(['blksize', '7', 'windowsize', '0', 'timeout', '300']), 10, undefined).oack).toEqual(
      [],
    );
    expect(negotiate(req(['blksize', 'abc', 'foo', 'bar']), 10, undefined).oack).toEqual([]);
    const n = negotiate(req(['timeout', '3', 'windowsize', '8', 'TSize', '0']), 4242, undefined);
    expect(n.oack).toEqual([
      { name: 'timeout', value: '3' },
      { name: 'windowsize', value: '8' },
      { name: 'TSize', value: '4242' },
    ]);
    expect(n.timeoutMs).toBe(3000);
    expect(n.windowsize).toBe(8);
    expect(negotiate(req(['tsize', '0']), undefined, undefined).oack).toEqual([]);
  });

  it('Q17: operator caps — blksize capped or refused, windowsize capped or refused, never above the request', () => {
    const req = (opts: string[]) => decodeRequest(rrq('f', 'octet', ...opts));
    const asked = req(['blksize', '1468', 'windowsize', '16', 'tsize', '0']);
    expect(negotiate(asked, 10, 1500, { maxBlksize: 1024 }).oack).toEqual([
      { name: 'blksize', value: '1024' },
      { name: 'windowsize', value: '16' },
      { name: 'tsize', value: '10' },
    ]);
    const refused = negotiate(asked, 10, 1500, { maxBlksize: 0, maxWindowsize: 1 });
    expect(refused.oack).toEqual([{ name: 'tsize', value: '10' }]);
    expect(refused.blksize).toBe(512);
    expect(refused.windowsize).toBe(1);
    expect(negotiate(asked, 10, 1500, { maxWindowsize: 4 }).windowsize).toBe(4);
    expect(negotiate(req(['blksize', '600']), 10, 1500, { maxBlksize: 1024 }).blksize).toBe(600);
  });

  it('T22: netascii LF → CRLF, CR → CR NUL', () => {
    expect(toNetascii(Buffer.from('a\nb\r')).toString('latin1')).toBe('a\r\nb\r\0');
  });

  it('S15: sanitises control characters and caps length', () => {
    expect(sanitiseName('a\x1b[31m\n')).toBe('a\\x1b[31m\\x0a');
    expect(sanitiseName('x'.repeat(500)).length).toBeLessThan(140);
  });

  it('splits names safely (the shared confinement rule, answered with TFTP error codes)', () => {
    expect(splitName('\\EFI\\BOOT\\bootx64.efi')).toEqual({
      ok: true,
      parts: ['EFI', 'BOOT', 'bootx64.efi'],
    });
    expect(splitName('/etc/passwd')).toEqual({ ok: true, parts: ['etc', 'passwd'] });
    const refused = splitName('pxelinux.cfg\\..\\..\\secret');
    expect(refused).toMatchObject({ ok: false, refusal: 'traversal' });
    expect(refused.ok ? undefined : REFUSAL_ANSWER[refused.refusal].tftp).toBe(2);
  });
});
