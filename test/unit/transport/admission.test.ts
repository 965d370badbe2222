import { describe, expect, it } from 'vitest';
import { Admission } from '../../../src/transport/admission.js';

describe('Admission', () => {
  it('admits everything with no limits', () => {
    const admission = new Admission({ maxConnections: 0, ratePerIp: 0, rate: 0 });
    for (let i = 0; i < 1000; i++) expect(admission.admit('1.2.3.4', 0)).toBeUndefined();
    expect(admission.openConnections).toBe(1000);
  });

  it('caps open connections and frees a slot on release', () => {
    const admission = new Admission({ maxConnections: 2, ratePerIp: 0, rate: 0 });
    expect(admission.admit('a')).toBeUndefined();
    expect(admission.admit('b')).toBeUndefined();
    expect(admission.admit('c')).toBe('max_connections');
    admission.release();
    expect(admission.admit('c')).toBeUndefined();
  });

  it('limits each IP to its rate with one second of burst, refilling over time', () => {
    const admission = new Admission({ maxConnections: 0, ratePerIp: 2, rate: 0 });
    expect(admission.admit('a', 1000)).toBeUndefined();
    expect(admission.admit('a', 1000)).toBeUndefined();
    expect(admission.admit('a', 1000)).toBe('accept_rate_ip');
    expect(admission.admit('b', 1000)).toBeUndefined();
    expect(admission.admit('a', 1500)).toBeUndefined();
    expect(admission.admit('a', 1500)).toBe('accept_rate_ip');
  });

  it('limits the total rate across addresses', () => {
    const admission = new Admission({ maxConnections: 0, ratePerIp: 0, rate: 3 });
    expect(['a', 'b', 'c', 'd'].map((ip) => admission.admit(ip, 0))).toEqual([undefined, undefined, undefined, 'accept_rate']);
    expect(admission.admit('e', 1000)).toBeUndefined();
  });

  it('a refused connection takes no slot', () => {
    const admission = new Admission({ maxConnections: 5, ratePerIp: 1, rate: 0 });
    admission.admit('a', 0);
    admission.admit('a', 0);
    expect(admission.openConnections).toBe(1);
  });
});
