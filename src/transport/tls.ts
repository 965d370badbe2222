import { readFileSync } from 'node:fs';

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
