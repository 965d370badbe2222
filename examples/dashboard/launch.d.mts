// Types for launch.mjs, for the TypeScript tests that import it.
export const REPO: string;
export function copyAutobahn(publicDir: string): void;
export function option(name: string, fallback: string): string;
export function choosePort(wanted: string | number): Promise<number>;
export function mintToken(secret: string, sub: string, role: string): string;
export function startRouter(options: {
  port: number;
  publicDir: string;
  mqttPort?: number;
  args?: string[];
  env?: Record<string, string>;
}): Promise<{ url: string; page: string; stop(): Promise<void> }>;
export function onStop(cleanup: () => Promise<void>): void;
