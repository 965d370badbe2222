/**
 * Session ids are global in scope (WAMP): unique across realms, and never those of a realm's own system session.
 * The random source is scripted here so that it repeats ids on purpose.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const script: number[] = [];
vi.mock('../../../src/core/ids.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../src/core/ids.js')>();
  return { ...original, randomId: () => script.shift() ?? original.randomId() };
});

const { allowAll } = await import('../../../src/auth/authorizer.js');
const { Router } = await import('../../../src/core/router.js');
const { RecordingSink } = await import('../../helpers/recording-sink.js');

const principal = { authid: 'alice', authrole: 'user', authmethod: 'anonymous', authprovider: 'static' };
const transport = { connectionId: 'c1', protocol: 'test', transport: 'test', remoteAddress: '127.0.0.1' };

describe('Router: session ids', () => {
  beforeEach(() => {
    script.length = 0;
  });

  it('draws again while an id is taken in any realm or by a system session, and frees an id when its session leaves', () => {
    script.push(1, 2);
    const router = new Router(allowAll);
    const one = router.addRealm('one', { uriCheck: 'loose' });
    const two = router.addRealm('two', { uriCheck: 'loose' });
    expect([one.system.id, two.system.id]).toEqual([1, 2]);

    script.push(2, 1, 10, 10, 11);
    const first = one.join(principal, transport, new RecordingSink(), { interrupts: false });
    const second = two.join(principal, transport, new RecordingSink(), { interrupts: false });
    expect([first.id, second.id]).toEqual([10, 11]);

    first.leave();
    script.push(11, 10);
    const third = two.join(principal, transport, new RecordingSink(), { interrupts: false });
    expect(third.id).toBe(10);
    expect(script).toEqual([]);
  });
});
