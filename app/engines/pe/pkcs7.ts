/**
 * Authenticode's PKCS#7 SignedData (RFC 5652 §5; Microsoft "Windows Authenticode Portable Executable
 * Signature Format"): who signed, with which digest, over which image digest. This reads the structure
 * only; it verifies neither the signature nor the certificate chain nor the image digest (docs/secure-boot.md).
 *
 *   ContentInfo   ::= SEQUENCE { contentType OID (1.2.840.113549.1.7.2 signedData), [0] EXPLICIT SignedData }
 *   SignedData    ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo, [0] IMPLICIT certificates
 *                                OPTIONAL, [1] IMPLICIT crls OPTIONAL, signerInfos SET OF SignerInfo }
 *   encapContentInfo: contentType 1.3.6.1.4.1.311.2.1.4 (SpcIndirectDataContent), whose messageDigest
 *                     DigestInfo is the Authenticode hash of the image
 *   SignerInfo    ::= SEQUENCE { version, sid (IssuerAndSerialNumber | [0] SubjectKeyIdentifier),
 *                                digestAlgorithm, [0] signedAttrs OPTIONAL, signatureAlgorithm, signature,
 *                                [1] unsignedAttrs OPTIONAL }
 * A second signature may be nested as the unsigned attribute 1.3.6.1.4.1.311.2.4.1 (signtool /as); UEFI
 * images more often carry a second WIN_CERTIFICATE instead (Debian's shim: Microsoft 2011 and 2023 CAs).
 */
import {
  TAG,
  children,
  childrenOf,
  ctx,
  directoryString,
  hex,
  integerHex,
  oid,
  only,
  readTlv,
  type Tlv,
} from './der.js';
import { PeError } from './pe-error.js';

export interface CertName {
  commonName?: string;
  organization?: string;
  /** Every attribute in encoded order, `C=US, O=Microsoft Corporation, CN=…` (openssl's one-line order). */
  text: string;
}

export interface CertSummary {
  subject: CertName;
  issuer: CertName;
  /** Lower-case hex of the serial number's DER contents. */
  serialNumber: string;
}

export interface AuthenticodeSigner {
  /** From the signer's certificate; absent when the signature does not carry that certificate. */
  subject?: CertName;
  issuer: CertName;
  serialNumber: string;
  /** The signer's digest algorithm: 'sha256', 'sha1', ... or the OID when unknown. */
  digestAlgorithm: string;
  /** The Authenticode image hash the signature covers (SpcIndirectDataContent), hex, with its algorithm. */
  imageDigest: { algorithm: string; value: string };
  /** Every certificate the SignedData carries (signer first is not guaranteed: the encoded order). */
  chain: CertSummary[];
  /** True when this SignedData sat inside another's unsigned attributes (nested signature). */
  nested: boolean;
}

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';
const OID_NESTED_SIGNATURE = '1.3.6.1.4.1.311.2.4.1';
const OID_SUBJECT_KEY_ID = '2.5.29.14';
/** Nested signatures inside nested signatures: real files have one level; bound hostile ones. */
const MAX_NESTING = 4;

const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '1.2.840.113549.2.5': 'md5',
};

const NAME_ATTRS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

function bad(message: string): never {
  throw new PeError('bad-signature-data', message);
}

function at<T>(list: readonly T[], i: number, what: string): T {
  const v = list[i];
  if (v === undefined) bad(`${what} missing`);
  return v;
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue). */
function parseName(t: Tlv): CertName {
  const parts: string[] = [];
  const name: CertName = { text: '' };
  for (const rdn of childrenOf(t, TAG.SEQUENCE, 'Name')) {
    for (const atv of childrenOf(rdn, TAG.SET, 'RDN')) {
      const [type, value] = childrenOf(atv, TAG.SEQUENCE, 'AttributeTypeAndValue');
      if (!type || !value) bad('AttributeTypeAndValue incomplete');
      const id = oid(type);
      const s = directoryString(value) ?? `#${hex(value.value)}`;
      const short = NAME_ATTRS[id] ?? id;
      parts.push(`${short}=${s}`);
      if (short === 'CN' && name.commonName === undefined) name.commonName = s;
      if (short === 'O' && name.organization === undefined) name.organization = s;
    }
  }
  name.text = parts.join(', ');
  return name;
}

interface ParsedCert extends CertSummary {
  issuerDer: Uint8Array;
  subjectKeyId?: string;
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature } (RFC 5280 §4.1). */
function parseCertificate(t: Tlv): ParsedCert {
  const tbs = at(childrenOf(t, TAG.SEQUENCE, 'Certificate'), 0, 'tbsCertificate');
  const f = childrenOf(tbs, TAG.SEQUENCE, 'tbsCertificate');
  let i = f[0]?.tag === ctx(0) ? 1 : 0; // [0] EXPLICIT version, absent for v1
  const serial = at(f, i++, 'serialNumber');
  i++; // signature AlgorithmIdentifier
  const issuer = at(f, i++, 'issuer');
  i++; // validity
  const subject = at(f, i++, 'subject');
  const cert: ParsedCert = {
    subject: parseName(subject),
    issuer: parseName(issuer),
    serialNumber: integerHex(serial),
    issuerDer: issuer.whole,
  };
  // extensions [3] EXPLICIT SEQUENCE OF Extension { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }
  const ext = f.slice(i).find((x) => x.tag === ctx(3));
  if (ext) {
    for (const e of childrenOf(only(ext, 'extensions'), TAG.SEQUENCE, 'Extensions')) {
      const parts = childrenOf(e, TAG.SEQUENCE, 'Extension');
      if (oid(at(parts, 0, 'extnID')) !== OID_SUBJECT_KEY_ID) continue;
      const value = at(parts, parts.length - 1, 'extnValue');
      // extnValue is an OCTET STRING wrapping the DER of KeyIdentifier, itself an OCTET STRING.
      cert.subjectKeyId = hex(octets(readTlv(octets(value, 'extnValue'), 0), 'SubjectKeyIdentifier'));
    }
  }
  return cert;
}

function octets(t: Tlv, what: string): Uint8Array {
  if (t.tag !== TAG.OCTET_STRING) bad(`${what}: tag 0x${t.tag.toString(16)}, expected an OCTET STRING`);
  return t.value;
}

function algorithm(t: Tlv): string {
  const id = oid(at(childrenOf(t, TAG.SEQUENCE, 'AlgorithmIdentifier'), 0, 'algorithm'));
  return DIGESTS[id] ?? id;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Parse one ContentInfo holding an Authenticode SignedData (the bCertificate of a WIN_CERTIFICATE) and
 * return its signers, nested signatures' signers following their parent's.
 */
export function parseAuthenticode(der: Uint8Array, depth = 0): AuthenticodeSigner[] {
  if (depth > MAX_NESTING) bad(`signatures nested deeper than ${MAX_NESTING}`);
  const ci = childrenOf(readTlv(der, 0), TAG.SEQUENCE, 'ContentInfo');
  if (oid(at(ci, 0, 'contentType')) !== OID_SIGNED_DATA) bad('ContentInfo is not signedData');
  const content = at(ci, 1, 'content');
  if (content.tag !== ctx(0)) bad('ContentInfo content is not [0]');
  const sd = childrenOf(only(content, 'content'), TAG.SEQUENCE, 'SignedData');

  const encap = childrenOf(at(sd, 2, 'encapContentInfo'), TAG.SEQUENCE, 'encapContentInfo');
  if (oid(at(encap, 0, 'eContentType')) !== OID_SPC_INDIRECT_DATA)
    bad('not Authenticode (no SpcIndirectDataContent)');
  // SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue, messageDigest DigestInfo }
  // PKCS#7 v1.5 (what signtool, sbsign and pesign write) embeds the SEQUENCE itself; RFC 5652 wraps eContent
  // in an OCTET STRING (openssl cms). Accept both.
  let inner = only(at(encap, 1, 'eContent'), 'eContent');
  if (inner.tag === TAG.OCTET_STRING) inner = readTlv(inner.value, 0);
  const spc = childrenOf(inner, TAG.SEQUENCE, 'SpcIndirectDataContent');
  const digestInfo = childrenOf(at(spc, 1, 'messageDigest'), TAG.SEQUENCE, 'DigestInfo');
  const imageDigest = {
    algorithm: algorithm(at(digestInfo, 0, 'digestAlgorithm')),
    value: hex(octets(at(digestInfo, 1, 'digest'), 'digest')),
  };

  const rest = sd.slice(3);
  const certSet = rest.find((x) => x.tag === ctx(0));
  const certs = certSet
    ? children(certSet)
        .filter((c) => c.tag === TAG.SEQUENCE)
        .map(parseCertificate)
    : [];
  const infos = rest.at(-1);
  if (!infos || infos.tag !== TAG.SET) bad('SignedData has no signerInfos');
  const chain: CertSummary[] = certs.map(({ subject, issuer, serialNumber }) => ({
    subject,
    issuer,
    serialNumber,
  }));

  const out: AuthenticodeSigner[] = [];
  const nested: AuthenticodeSigner[] = [];
  for (const si of children(infos)) {
    const f = childrenOf(si, TAG.SEQUENCE, 'SignerInfo');
    const sid = at(f, 1, 'sid');
    let cert: ParsedCert | undefined;
    let issuer: CertName;
    let serialNumber: string;
    if (sid.tag === TAG.SEQUENCE) {
      const [iss, serial] = children(sid);
      if (!iss || !serial) bad('IssuerAndSerialNumber incomplete');
      issuer = parseName(iss);
      serialNumber = integerHex(serial);
      cert = certs.find((c) => c.serialNumber === serialNumber && sameBytes(c.issuerDer, iss.whole));
    } else if (sid.tag === ctx(0, false)) {
      const ski = hex(sid.value);
      cert = certs.find((c) => c.subjectKeyId === ski);
      issuer = cert?.issuer ?? { text: '' };
      serialNumber = cert?.serialNumber ?? '';
    } else {
      bad(`SignerIdentifier tag 0x${sid.tag.toString(16)}`);
    }
    out.push({
      ...(cert ? { subject: cert.subject } : {}),
      issuer,
      serialNumber,
      digestAlgorithm: algorithm(at(f, 2, 'digestAlgorithm')),
      imageDigest,
      chain,
      nested: depth > 0,
    });
    const unsigned = f.find((x) => x.tag === ctx(1));
    if (!unsigned) continue;
    for (const attr of children(unsigned)) {
      const [type, values] = childrenOf(attr, TAG.SEQUENCE, 'Attribute');
      if (!type || !values || oid(type) !== OID_NESTED_SIGNATURE) continue;
      for (const v of childrenOf(values, TAG.SET, 'AttributeValues'))
        nested.push(...parseAuthenticode(v.whole, depth + 1));
    }
  }
  return [...out, ...nested];
}
