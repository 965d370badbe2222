import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** CA that signs client certificates; when present, clients are asked for one. */
  clientCa?: Buffer;
  /** Refuse clients without a valid certificate. */
  requireClientCert?: boolean;
}

/**
 * Reads the certificate and key. Called at start-up and again on reload (SIGHUP, or the files changing), so a
 * renewed certificate is used for new connections while existing ones carry on.
 */
export function loadTlsMaterial(files: { cert: string; key: string; clientCa?: string | undefined; requireClientCert?: boolean }): TlsMaterial {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`tls.${what}: cannot read '${path}': ${(error as Error).message}`);
    }
  };
  const material: TlsMaterial = { cert: read('cert', files.cert), key: read('key', files.key) };
  if (files.clientCa !== undefined) {
    material.clientCa = read('clientCa', files.clientCa);
    material.requireClientCert = files.requireClientCert === true;
  }
  return material;
}

/** What a secure context needs: the certificate and key, and the client CA when there is one. */
export function secureContextOptions(tls: TlsMaterial): { cert: Buffer; key: Buffer; ca?: Buffer } {
  return tls.clientCa === undefined ? { cert: tls.cert, key: tls.key } : { cert: tls.cert, key: tls.key, ca: tls.clientCa };
}

/**
 * Options for a TLS server. With a client CA the server asks every client for a certificate; a client without
 * one (or with one the CA did not sign) is still let in unless `requireClientCert`, and then simply has no
 * verified name, so it logs in some other way.
 */
export function tlsServerOptions(tls: TlsMaterial): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean; rejectUnauthorized?: boolean } {
  if (tls.clientCa === undefined) return secureContextOptions(tls);
  return { ...secureContextOptions(tls), requestCert: true, rejectUnauthorized: tls.requireClientCert === true };
}

/**
 * The common name of a client certificate that TLS verified against the client CA, if `socket` is a TLS socket
 * and has one. An unverified certificate names nobody: anyone can write any common name into one.
 */
export function verifiedCommonName(socket: unknown): string | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (tls.authorized !== true || typeof tls.getPeerCertificate !== 'function') return undefined;
  const name = tls.getPeerCertificate().subject?.CN;
  return typeof name === 'string' && name !== '' ? name : undefined;
}
