import { readFileSync } from 'node:fs';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the certificate and key. Called at start-up and again on reload (SIGHUP, or the files changing), so a
 * renewed certificate is used for new connections while existing ones carry on.
 */
export function loadTlsMaterial(files: { cert: string; key: string }): TlsMaterial {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`tls.${what}: cannot read '${path}': ${(error as Error).message}`);
    }
  };
  return { cert: read('cert', files.cert), key: read('key', files.key) };
}
