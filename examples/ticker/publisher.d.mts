// Types for publisher.mjs, for the TypeScript tests that import it.
export interface Quote {
  symbol: string;
  price: number;
  change: number;
  changePct: number;
  seq: number;
  at: string;
}

export const SYMBOLS: Readonly<Record<string, number>>;

export function startTicker(options: { url: string; intervalMs?: number; symbols?: Record<string, number> }): Promise<{
  /** The latest quote sent per symbol. */
  last: Record<string, Quote>;
  /** Stops ticking; resolves once the quotes already sent are acknowledged by the router. */
  pause(): Promise<void>;
  /** Says goodbye and resolves once the session is closed. */
  stop(): Promise<void>;
}>;
