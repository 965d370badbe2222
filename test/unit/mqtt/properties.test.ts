/**
 * MQTT 5 publish properties to and from the core's MessageProperties (protocols/mqtt/properties.ts).
 */
import { describe, expect, it } from 'vitest';
import { fromPacket, toPacket, type PublishProperties } from '../../../protocols/mqtt/properties.js';

const NOW = 1_700_000_000_000;

describe('fromPacket', () => {
  it('undefined and {} give undefined (no properties object on the core message)', () => {
    expect(fromPacket(undefined, NOW)).toBeUndefined();
    expect(fromPacket({}, NOW)).toBeUndefined();
  });

  it('routing-only properties (topic alias, subscription identifier) are not message properties', () => {
    expect(fromPacket({ topicAlias: 3 }, NOW)).toBeUndefined();
    expect(fromPacket({ subscriptionIdentifier: 7 }, NOW)).toBeUndefined();
  });

  it('payload format indicator false (0) is the default and carries nothing', () => {
    expect(fromPacket({ payloadFormatIndicator: false }, NOW)).toBeUndefined();
    expect(fromPacket({ payloadFormatIndicator: true }, NOW)).toEqual({ payloadIsUtf8: true });
  });

  it('message expiry interval becomes an absolute expiry', () => {
    expect(fromPacket({ messageExpiryInterval: 10 }, NOW)).toEqual({ expiresAt: NOW + 10_000 });
    expect(fromPacket({ messageExpiryInterval: 0 }, NOW)).toEqual({ expiresAt: NOW });
  });

  it('user properties keep order and repeated names', () => {
    const result = fromPacket({ userProperties: { a: '1', b: ['2', '3'], c: '4' } }, NOW);
    expect(result?.userProperties).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['b', '3'],
      ['c', '4'],
    ]);
  });

  it('every pass-through property', () => {
    const correlationData = Buffer.from([1, 2, 3]);
    expect(
      fromPacket(
        {
          payloadFormatIndicator: true,
          messageExpiryInterval: 5,
          contentType: 'application/json',
          responseTopic: 'reply/here',
          correlationData,
          userProperties: { k: 'v' },
          topicAlias: 2,
        },
        NOW,
      ),
    ).toEqual({
      payloadIsUtf8: true,
      expiresAt: NOW + 5000,
      contentType: 'application/json',
      responseTopic: 'reply/here',
      correlationData,
      userProperties: [['k', 'v']],
    });
  });

  it('an empty content type and response topic still count', () => {
    expect(fromPacket({ contentType: '' }, NOW)).toEqual({ contentType: '' });
  });
});

describe('toPacket', () => {
  it('nothing to send gives undefined', () => {
    expect(toPacket(undefined, [], NOW)).toBeUndefined();
    expect(toPacket({}, [], NOW)).toBeUndefined();
    expect(toPacket({ userProperties: [] }, [], NOW)).toBeUndefined();
  });

  it('[MQTT-3.3.2-6] the expiry sent is what is left of the interval, counted down', () => {
    const properties = fromPacket({ messageExpiryInterval: 60 }, NOW);
    expect(toPacket(properties, [], NOW)?.messageExpiryInterval).toBe(60);
    expect(toPacket(properties, [], NOW + 1)?.messageExpiryInterval).toBe(60); // 59.999 s left: rounded up
    expect(toPacket(properties, [], NOW + 1000)?.messageExpiryInterval).toBe(59);
    expect(toPacket(properties, [], NOW + 20_500)?.messageExpiryInterval).toBe(40);
    expect(toPacket(properties, [], NOW + 59_001)?.messageExpiryInterval).toBe(1);
    // Never negative, even if asked after the expiry.
    expect(toPacket(properties, [], NOW + 70_000)?.messageExpiryInterval).toBe(0);
  });

  it('user properties with repeated names go out as the object shape mqtt-packet writes', () => {
    const result = toPacket(
      {
        userProperties: [
          ['a', '1'],
          ['b', '2'],
          ['a', '3'],
          ['a', '4'],
        ],
      },
      [],
      NOW,
    );
    expect(result).toEqual({ userProperties: { a: ['1', '3', '4'], b: '2' } });
  });

  it('one subscription identifier is a number, several are an array', () => {
    expect(toPacket(undefined, [7], NOW)).toEqual({ subscriptionIdentifier: 7 });
    expect(toPacket(undefined, [7, 9], NOW)).toEqual({ subscriptionIdentifier: [7, 9] });
    expect(toPacket(undefined, [], NOW)).toBeUndefined();
  });

  it('the subscription identifier list is copied, not shared with the caller', () => {
    const ids = [1, 2];
    const result = toPacket(undefined, ids, NOW)!;
    (result.subscriptionIdentifier as number[]).push(3);
    expect(ids).toEqual([1, 2]);
  });

  it('correlation data goes out as a Buffer even when the core holds a Uint8Array', () => {
    const result = toPacket({ correlationData: new Uint8Array([9, 8, 7]) }, [], NOW)!;
    expect(Buffer.isBuffer(result.correlationData)).toBe(true);
    expect([...result.correlationData!]).toEqual([9, 8, 7]);
  });

  it('payloadIsUtf8 false sends no payload format indicator', () => {
    expect(toPacket({ payloadIsUtf8: false }, [], NOW)).toBeUndefined();
  });
});

describe('round trip fromPacket -> toPacket', () => {
  it('carries every pass-through property unchanged (expiry at the same instant)', () => {
    const packet: PublishProperties = {
      payloadFormatIndicator: true,
      messageExpiryInterval: 30,
      contentType: 'text/plain; charset=utf-8',
      responseTopic: 'resp/1',
      correlationData: Buffer.from('corr-1'),
      userProperties: { x: ['1', '2'], y: 'z', 'é': 'ü' },
    };
    expect(toPacket(fromPacket(packet, NOW), [], NOW)).toEqual(packet);
  });

  it('adds the subscription identifiers of the delivery', () => {
    const packet: PublishProperties = { contentType: 'a/b' };
    expect(toPacket(fromPacket(packet, NOW), [3, 4], NOW)).toEqual({ contentType: 'a/b', subscriptionIdentifier: [3, 4] });
  });

  it('drops the inbound topic alias and subscription identifier (they are per hop)', () => {
    expect(toPacket(fromPacket({ topicAlias: 1, subscriptionIdentifier: 5, contentType: 'c' }, NOW), [], NOW)).toEqual({ contentType: 'c' });
  });
});
