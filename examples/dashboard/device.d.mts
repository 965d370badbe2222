// Types for device.mjs, for the TypeScript tests that import it.
export interface Reading {
  temperature: number;
  humidity: number;
  led: 'on' | 'off';
  at: string;
}

export interface Device {
  id: string;
  led: 'on' | 'off';
  /** Every reading published, oldest first. */
  readings: Reading[];
  /** The argument of every call answered, valid or not. */
  calls: string[];
  stop(): Promise<void>;
}

export function startDevice(options: {
  url: string;
  id?: string;
  token?: string;
  intervalMs?: number;
  log?: (line: string) => void;
}): Promise<Device>;
