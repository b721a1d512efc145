/**
 * Issues certificates at run time (the sample generator records what it issues, see src/samples/recording.ts).
 * A throwaway mesh CA issuing workload certificates shaped like istiod's: an `O=cluster.local` root,
 * leaves with an empty subject, a critical URI SAN holding the SPIFFE id, 24 h validity, ECDSA P-256.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { bits, bool, ctx, integer, namedBits, octets, oid, printable, seq, set, tlv, utcTime } from './der.js';
import type { Prng } from '../rng.js';

export interface KeyAndCert {
  keyPem: string;
  certPem: string;
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function pemToDer(pemText: string): Buffer {
  return Buffer.from(pemText.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function spkiDer(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

function keyId(key: KeyObject): Buffer {
  // RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING contents (the last 65 bytes for P-256).
  const spki = spkiDer(key);
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
}

function ext(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function certificate(tbs: Buffer, signer: KeyObject): Buffer {
  const sig = sign('sha256', tbs, { key: signer, dsaEncoding: 'der' });
  return seq(tbs, ECDSA_SHA256, bits(sig));
}

const ROOT_NAME = seq(set(seq(oid('2.5.4.10'), printable('cluster.local'))));

function newKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

export function issueRoot(prng: Prng, notBefore: Date): KeyAndCert {
  const key = newKey();
  const notAfter = new Date(notBefore.getTime() + 10 * 365 * 86400_000);
  const tbs = seq(
    ctx(0, integer(2)),
    integer(prng.bytes(16)),
    ECDSA_SHA256,
    ROOT_NAME,
    seq(utcTime(notBefore), utcTime(notAfter)),
    ROOT_NAME,
    spkiDer(key),
    ctx(
      3,
      seq(
        ext('2.5.29.15', true, namedBits([5, 6])), // keyCertSign, cRLSign
        ext('2.5.29.19', true, seq(bool(true))),
        ext('2.5.29.14', false, octets(keyId(key))),
      ),
    ),
  );
  return { keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), certPem: pem('CERTIFICATE', certificate(tbs, key)) };
}

export function issueWorkload(prng: Prng, ca: KeyAndCert, spiffeId: string, notBefore: Date): KeyAndCert {
  const caKey = createPrivateKey(ca.keyPem);
  const key = newKey();
  const notAfter = new Date(notBefore.getTime() + 86400_000);
  const tbs = seq(
    ctx(0, integer(2)),
    integer(prng.bytes(16)),
    ECDSA_SHA256,
    ROOT_NAME,
    seq(utcTime(notBefore), utcTime(notAfter)),
    seq(), // empty subject, as istiod issues it
    spkiDer(key),
    ctx(
      3,
      seq(
        ext('2.5.29.15', true, namedBits([0, 2])), // digitalSignature, keyEncipherment
        ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))),
        ext('2.5.29.19', true, seq()),
        ext('2.5.29.35', false, seq(ctx(0, keyId(caKey), false))),
        ext('2.5.29.17', true, seq(tlv(0x86, Buffer.from(spiffeId, 'ascii')))),
      ),
    ),
  );
  return { keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), certPem: pem('CERTIFICATE', certificate(tbs, caKey)) };
}
