/**
 * Whether a new connection may open: a cap on open connections (every transport together) and token-bucket
 * accept rates, per IP address and in total. A refusal names the limit, for the log line and the metric.
 */
export type Refusal = 'max_connections' | 'accept_rate_ip' | 'accept_rate';

export interface AdmissionLimits {
  /** 0: no cap. */
  maxConnections: number;
  /** Connections per second from one IP; 0: no limit. */
  ratePerIp: number;
  /** Connections per second in total; 0: no limit. */
  rate: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/** Buckets idle this long are forgotten, so a scan of many addresses cannot grow the map for ever. */
const IDLE_MS = 60_000;
const SWEEP_AT = 10_000;

export class Admission {
  private open = 0;
  private readonly perIp = new Map<string, Bucket>();
  private readonly total: Bucket = { tokens: 0, updated: 0 };

  constructor(private readonly limits: AdmissionLimits) {
    this.total.tokens = limits.rate;
  }

  /** Takes a slot for a new connection from `ip`, or says which limit refuses it. */
  admit(ip: string, now = Date.now()): Refusal | undefined {
    const { maxConnections, ratePerIp, rate } = this.limits;
    if (maxConnections > 0 && this.open >= maxConnections) return 'max_connections';
    if (rate > 0 && !take(this.total, rate, now)) return 'accept_rate';
    if (ratePerIp > 0) {
      let bucket = this.perIp.get(ip);
      if (bucket === undefined) {
        if (this.perIp.size >= SWEEP_AT) this.sweep(now);
        bucket = { tokens: ratePerIp, updated: now };
        this.perIp.set(ip, bucket);
      }
      if (!take(bucket, ratePerIp, now)) return 'accept_rate_ip';
    }
    this.open++;
    return undefined;
  }

  /** An admitted connection closed. */
  release(): void {
    if (this.open > 0) this.open--;
  }

  get openConnections(): number {
    return this.open;
  }

  private sweep(now: number): void {
    for (const [ip, bucket] of this.perIp) if (now - bucket.updated > IDLE_MS) this.perIp.delete(ip);
  }
}

/** Refills `rate` tokens per second up to `rate` (one second of burst), then takes one if there is one. */
function take(bucket: Bucket, rate: number, now: number): boolean {
  const elapsed = Math.max(0, now - bucket.updated) / 1000;
  bucket.tokens = Math.min(rate, bucket.tokens + elapsed * rate);
  bucket.updated = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}
