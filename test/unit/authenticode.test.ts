/**
 * Authenticode detection on real boot files: Debian's signed shim and network GRUB and iPXE (from the
 * boot-file cache, fetched by `npm run bootfiles` at the pinned versions; fetched here when missing), and a
 * Debian-signed kernel (the lab fixtures' vmlinuz from linux-image-amd64, cached in test/fixtures/work).
 * Locally a machine without apt skips; with CI=true a missing file fails the suite.
 * openssl, where present (always on CI), reads the same PKCS#7 blobs as an independent second opinion.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectPe, type PeInspection } from '../../app/engines/pe/authenticode.js';
import { children, readTlv, type Tlv } from '../../app/engines/pe/der.js';
import { authenticodeImageDigest, signaturesCoverImage } from '../../app/engines/pe/image-digest.js';
import { inspectPeFile } from '../../app/engines/pe/inspect-file.js';
import { memorySource } from '../../app/engines/iso/source.js';
import { ensureFixtures } from '../fixtures/fixtures.js';
import { haveTools, onCi } from '../helpers/tools.js';

const repo = resolve(import.meta.dirname, '..', '..');
const cache = process.env.PXE_DESK_BOOTFILES ?? join(repo, '.cache', 'bootfiles');
const NEEDED = ['shimx64.efi', 'grubx64.efi', 'snponly.efi', 'ipxe.efi', 'undionly.kpxe'];

function bootfilesPresent(): boolean {
  if (NEEDED.every((f) => existsSync(join(cache, f)))) return true;
  try {
    execFileSync(process.execPath, [join(repo, 'scripts', 'fetch-bootfiles.mjs')], {
      cwd: repo,
      stdio: 'inherit',
    });
  } catch (e) {
    if (onCi) throw new Error(`CI=true but the boot files could not be fetched: ${String(e)}`);
  }
  const missing = NEEDED.filter((f) => !existsSync(join(cache, f)));
  if (missing.length === 0) return true;
  if (onCi) throw new Error(`CI=true but ${missing.join(', ')} are missing from ${cache}`);
  console.warn(`skipping: ${missing.join(', ')} missing (npm run bootfiles)`);
  return false;
}

const haveBootfiles = bootfilesPresent();
const file = (name: string): string => join(cache, name);
const names = (info: PeInspection): [string | undefined, string | undefined][] =>
  info.signers.map((s) => [s.subject?.commonName, s.issuer.commonName]);

/** Subject CNs openssl finds in each PKCS_SIGNED_DATA entry of the file (the entries inspectPe located). */
function opensslSubjects(path: string, info: PeInspection): string[][] {
  const bytes = readFileSync(path);
  return info.certificateEntries.map((e) => {
    const der = bytes.subarray(e.offset + 8, e.offset + e.length);
    const out = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], {
      input: der,
      encoding: 'utf8',
    });
    return [...out.matchAll(/^subject=.*?CN\s?=\s?([^,\n]+)/gm)].map((m) => (m[1] ?? '').trim());
  });
}

describe.skipIf(!haveBootfiles)('Authenticode on the fetched boot files', () => {
  it('shim: x64 UEFI application signed twice by Microsoft (UEFI CA 2011 and 2023)', async () => {
    const info = await inspectPeFile(file('shimx64.efi'));
    expect(info).toMatchObject({
      pe: true,
      machine: 'x64',
      format: 'pe32+',
      efi: 'efi-application',
      signed: true,
    });
    expect(names(info)).toEqual([
      ['Microsoft Windows UEFI Driver Publisher', 'Microsoft Corporation UEFI CA 2011'],
      ['Microsoft UEFI CA 2023 signer', 'Microsoft UEFI CA 2023'],
    ]);
    for (const s of info.signers) {
      expect(s.subject?.organization).toBe('Microsoft Corporation');
      expect(s.issuer.organization).toBe('Microsoft Corporation');
      expect(s.digestAlgorithm).toBe('sha256');
      expect(s.nested).toBe(false);
    }
    // Two WIN_CERTIFICATE entries, each PKCS_SIGNED_DATA revision 2.0 on a quadword boundary, over the same image.
    expect(info.certificateEntries.map((e) => [e.revision, e.type, e.offset % 8])).toEqual([
      [0x200, 2, 0],
      [0x200, 2, 0],
    ]);
    expect(info.signers[0]?.imageDigest).toEqual(info.signers[1]?.imageDigest);
    expect(info.signers[0]?.chain.map((c) => c.subject.commonName)).toEqual([
      'Microsoft Windows UEFI Driver Publisher',
      'Microsoft Corporation UEFI CA 2011',
    ]);
  });

  it('network GRUB: x64 UEFI application signed by Debian', async () => {
    const info = await inspectPeFile(file('grubx64.efi'));
    expect(info).toMatchObject({ pe: true, machine: 'x64', efi: 'efi-application', signed: true });
    expect(names(info)).toEqual([['Debian Secure Boot Signer 2022 - grub2', 'Debian Secure Boot CA']]);
    expect(info.signers[0]?.subject?.text).toBe('CN=Debian Secure Boot Signer 2022 - grub2');
    expect(info.linuxKernel).toBeUndefined();
  });

  it.each(['snponly.efi', 'ipxe.efi'])(
    'iPXE %s from Debian: x64 UEFI application, unsigned',
    async (name) => {
      const info = await inspectPeFile(file(name));
      expect(info).toEqual({
        pe: true,
        machine: 'x64',
        machineCode: 0x8664,
        format: 'pe32+',
        efi: 'efi-application',
        signed: false,
        signers: [],
        certificateEntries: [],
      });
    },
  );

  it('undionly.kpxe (BIOS PXE) is not a PE image', async () => {
    const info = await inspectPeFile(file('undionly.kpxe'));
    expect(info.pe).toBe(false);
    expect(info.signed).toBe(false);
  });

  it('in-memory bytes give the same answer as the file reader', async () => {
    const bytes = new Uint8Array(readFileSync(file('shimx64.efi')));
    expect(await inspectPe(memorySource(bytes))).toEqual(await inspectPeFile(file('shimx64.efi')));
  });

  it('the image hash computed over the file equals the digest each signature covers', async () => {
    for (const name of ['shimx64.efi', 'grubx64.efi']) {
      const bytes = new Uint8Array(readFileSync(file(name)));
      const info = await inspectPe(memorySource(bytes));
      for (const s of info.signers) {
        expect(await authenticodeImageDigest(memorySource(bytes), 'sha256')).toBe(s.imageDigest.value);
      }
      expect(await signaturesCoverImage(memorySource(bytes), info.signers)).toBe(true);
    }
    expect(await signaturesCoverImage(memorySource(readFileSync(file('snponly.efi'))), [])).toBeUndefined();
  });

  it('one changed byte inside a section breaks the cover; CheckSum and the table itself are outside it', async () => {
    const bytes = Buffer.from(readFileSync(file('grubx64.efi')));
    const info = await inspectPe(memorySource(bytes));
    const pe = bytes.readUInt32LE(0x3c);
    const checksumAt = pe + 24 + 64;
    const table = info.certificateEntries[0]?.offset ?? 0;
    const flipped = (at: number): Buffer => {
      const b = Buffer.from(bytes);
      b[at] = (b[at] as number) ^ 0x01;
      return b;
    };
    // The last bytes of the entry are the signature value: excluded from the image hash like the CheckSum.
    expect(await signaturesCoverImage(memorySource(flipped(checksumAt)), info.signers)).toBe(true);
    expect(await signaturesCoverImage(memorySource(flipped(table + 1400)), info.signers)).toBe(true);
    expect(await signaturesCoverImage(memorySource(flipped(0x2000)), info.signers)).toBe(false);
    expect(await signaturesCoverImage(memorySource(flipped(table - 1)), info.signers)).toBe(false);
  });

  it.skipIf(!haveTools('openssl'))('openssl reads the same certificates from the entries found', async () => {
    for (const name of ['shimx64.efi', 'grubx64.efi']) {
      const info = await inspectPeFile(file(name));
      const chains = info.signers.map((s) => s.chain.map((c) => c.subject.commonName));
      expect(opensslSubjects(file(name), info)).toEqual(chains);
    }
  });
});

describe('Authenticode on a Debian-signed kernel', () => {
  it('vmlinuz from linux-image-amd64: EFI-stub bzImage signed by Debian', async () => {
    const fx = ensureFixtures();
    // build-fixtures.sh records the .deb it took the kernel from: linux-image-<abi>-amd64_<version>_amd64.deb.
    const source = readFileSync(join(fx.dir, 'vmlinuz.source'), 'utf8').trim();
    const abi = /^linux-image-(\d[^_]*-amd64)_/.exec(source)?.[1];
    expect(abi, `vmlinuz.source: ${source}`).toBeDefined();
    const info = await inspectPeFile(fx.vmlinuz);
    expect(info).toMatchObject({ pe: true, machine: 'x64', efi: 'efi-application', signed: true });
    expect(info.linuxKernel?.version?.startsWith(`${abi} `)).toBe(true);
    expect(Number(info.linuxKernel?.bootProtocol)).toBeGreaterThanOrEqual(2.12);
    // The kernel follows Debian's current point release (not pinned), and Debian names a signer per year:
    // the CA is exact, the signer's year may move.
    expect(info.signers).toHaveLength(1);
    expect(info.signers[0]?.issuer.commonName).toBe('Debian Secure Boot CA');
    expect(info.signers[0]?.subject?.commonName).toMatch(/^Debian Secure Boot Signer \d{4} - linux$/);
    expect(await signaturesCoverImage(memorySource(readFileSync(fx.vmlinuz)), info.signers)).toBe(true);
    if (haveTools('openssl')) {
      expect(opensslSubjects(fx.vmlinuz, info)).toEqual([
        info.signers[0]?.chain.map((c) => c.subject.commonName),
      ]);
    }
  }, 300_000);
});

/** DER TLV with a definite length (enough for the small structures built below). */
function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}
const OID = (hex: string): Buffer => der(0x06, Buffer.from(hex, 'hex'));

describe.skipIf(!haveBootfiles || !haveTools('openssl'))('a PE signed here with openssl cms', () => {
  // The unsigned snponly.efi, padded to 8 bytes (the padding is hashed, as sbsign does), given a
  // WIN_CERTIFICATE holding an openssl-made SignedData over its Authenticode hash. Exercises what the
  // Debian files do not: a SignerIdentifier by subject key identifier, eContent wrapped in an OCTET STRING
  // (RFC 5652 style), and a nested signature.
  let work = '';
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'pxe-authenticode-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const ossl = (args: string): void =>
    void execFileSync('openssl', args.split(' '), { cwd: work, stdio: 'pipe' });

  /** The padded image and its SpcIndirectDataContent (SPC_PE_IMAGE_DATA + sha256 DigestInfo) in spc.der. */
  async function prepare(): Promise<{ image: Buffer; digest: string }> {
    const plain = readFileSync(file('snponly.efi'));
    const image = Buffer.concat([plain, Buffer.alloc((8 - (plain.length % 8)) % 8)]);
    const digest = await authenticodeImageDigest(memorySource(image), 'sha256');
    const algorithm = der(0x30, OID('608648016503040201'), Buffer.from([0x05, 0x00]));
    const spc = der(
      0x30,
      der(0x30, OID('2b06010401823702010f')),
      der(0x30, algorithm, der(0x04, Buffer.from(digest, 'hex'))),
    );
    writeFileSync(join(work, 'spc.der'), spc);
    return { image, digest };
  }

  /** A self-signed certificate for `name` (one word) and a SignedData over spc.der made with it. */
  function sign(name: string, extra = ''): Buffer {
    ossl(
      `req -x509 -newkey rsa:2048 -nodes -keyout ${name}.key -out ${name}.pem -days 1 -subj /O=PXE-Desk/CN=${name}`,
    );
    ossl(
      `cms -sign -binary -nodetach -outform DER -md sha256 -econtent_type 1.3.6.1.4.1.311.2.1.4 -in spc.der ` +
        `-signer ${name}.pem -inkey ${name}.key -out ${name}.der${extra}`,
    );
    return readFileSync(join(work, `${name}.der`));
  }

  /** `image` + one WIN_CERTIFICATE holding `sig`, data directory 4 pointing at it. */
  function attach(image: Buffer, sig: Buffer): Buffer {
    const entry = Buffer.alloc((8 + sig.length + 7) & ~7);
    entry.writeUInt32LE(8 + sig.length, 0);
    entry.writeUInt16LE(0x0200, 4);
    entry.writeUInt16LE(0x0002, 6);
    sig.copy(entry, 8);
    const signed = Buffer.concat([image, entry]);
    const opt = signed.readUInt32LE(0x3c) + 24;
    const dir = opt + (signed.readUInt16LE(opt) === 0x20b ? 112 : 96) + 32;
    signed.writeUInt32LE(image.length, dir);
    signed.writeUInt32LE(entry.length, dir + 4);
    return signed;
  }

  it.each([
    ['issuerAndSerialNumber', ''],
    ['subjectKeyIdentifier', ' -keyid'],
  ])('names the signer found by %s, and the signature covers the image', async (_sid, extra) => {
    const { image, digest } = await prepare();
    const signed = attach(image, sign('Tester', extra));
    const info = await inspectPe(memorySource(signed));
    expect(info.signed).toBe(true);
    expect(info.signers).toHaveLength(1);
    expect(info.signers[0]?.subject).toEqual({
      commonName: 'Tester',
      organization: 'PXE-Desk',
      text: 'O=PXE-Desk, CN=Tester',
    });
    expect(info.signers[0]?.issuer.commonName).toBe('Tester'); // self-signed
    expect(info.signers[0]?.imageDigest).toEqual({ algorithm: 'sha256', value: digest });
    expect(info.signers[0]?.nested).toBe(false);
    expect(await signaturesCoverImage(memorySource(signed), info.signers)).toBe(true);
  });

  it('reads a signature nested in the first signer unsigned attributes (1.3.6.1.4.1.311.2.4.1)', async () => {
    const { image } = await prepare();
    const outer = sign('Outer');
    const inner = sign('Inner', ' -keyid');
    // Rebuild outer: ContentInfo { oid, [0] SignedData { ..., signerInfos { SignerInfo + [1] unsignedAttrs } } }
    const [ct, content] = children(readTlv(outer, 0));
    const sd = children(children(content as Tlv)[0] as Tlv);
    const [si] = children(sd.at(-1) as Tlv);
    const nestedAttr = der(0x30, OID('2b060104018237020401'), der(0x31, inner));
    const si2 = der(0x30, ...children(si as Tlv).map((t) => Buffer.from(t.whole)), der(0xa1, nestedAttr));
    const sd2 = der(0x30, ...sd.slice(0, -1).map((t) => Buffer.from(t.whole)), der(0x31, si2));
    const both = der(0x30, Buffer.from((ct as Tlv).whole), der(0xa0, sd2));
    const info = await inspectPe(memorySource(attach(image, both)));
    expect(info.signers.map((s) => [s.subject?.commonName, s.nested])).toEqual([
      ['Outer', false],
      ['Inner', true],
    ]);
    expect(info.certificateEntries).toHaveLength(1);
  });
});
