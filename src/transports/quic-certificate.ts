/**
 * The certificates of a QUIC server: one made at start for loopback (the default), or one read from
 * PEM files.
 */
import { readFileSync } from 'node:fs';
import { generate as generateCertificate } from 'selfsigned';

/** A certificate chain and its private key, PEM. */
export interface QuicCertificate {
  cert: string;
  key: string;
}

/**
 * A self-signed certificate for `localhost` and 127.0.0.1/::1 (ECDSA P-256, valid one day), made
 * at start with `selfsigned`. It is also the CA a verifying client needs (`ca: cert`).
 */
export async function makeSelfSignedCertificate(): Promise<QuicCertificate> {
  const pems = await generateCertificate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A certificate chain and key from PEM files. */
export function loadCertificate(certFile: string, keyFile: string): QuicCertificate {
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
