/**
 * The write batching of src/transport/ws-connection.ts: the first write of an input goes out at once, later
 * writes of the same input are held (corked) and leave together when the input's code returns, and a socket that
 * got a burst is held from the first write of its next input; large bursts are flushed early; the backlog the
 * slow-consumer limits read leaves out what is held.
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TurnBatcher } from '../../../src/transport/ws-connection.js';

/** Enough of a net.Socket: records cork and uncork calls and lets a test set its kernel backlog. */
function fakeSocket(): Socket & { corks: number; uncorks: number; corked: boolean } {
  const socket = {
    corks: 0,
    uncorks: 0,
    corked: false,
    writableLength: 0,
    cork() {
      socket.corks++;
      socket.corked = true;
    },
    uncork() {
      socket.uncorks++;
      socket.corked = false;
    },
  };
  return socket as unknown as Socket & typeof socket;
}

const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

describe('TurnBatcher', () => {
  it('lets the only write of an input go out at once, input after input', async () => {
    const batcher = new TurnBatcher();
    const socket = fakeSocket();
    for (let input = 0; input < 3; input++) {
      batcher.hold(socket, 100);
      expect(socket.corked).toBe(false);
      await nextTick();
    }
    expect(socket.corks).toBe(0);
  });

  it('holds the second and later writes of one input and sends them together when the input returns', async () => {
    const batcher = new TurnBatcher();
    const socket = fakeSocket();
    batcher.hold(socket, 100);
    expect(socket.corked).toBe(false);
    batcher.hold(socket, 100);
    expect(socket.corked).toBe(true);
    batcher.hold(socket, 100);
    expect(socket.corks).toBe(1);
    await nextTick();
    expect(socket.corked).toBe(false);
    expect(socket.uncorks).toBe(1);
  });

  it('holds a bursty socket from its first write, until an input brings it one write only', async () => {
    const batcher = new TurnBatcher();
    const socket = fakeSocket();
    batcher.hold(socket, 100);
    batcher.hold(socket, 100); // a burst: the socket is bursty from now on
    await nextTick();
    batcher.hold(socket, 100);
    expect(socket.corked).toBe(true); // held from the first write: one writev for the burst
    await nextTick();
    expect(socket.corks).toBe(2);
    // That input brought one write: the next input's first write goes out at once again.
    batcher.hold(socket, 100);
    expect(socket.corked).toBe(false);
    expect(socket.corks).toBe(2);
  });

  it('flushes a burst past 16 KiB at once and holds the rest again', () => {
    const batcher = new TurnBatcher();
    const socket = fakeSocket();
    batcher.hold(socket, 1000);
    for (let i = 0; i < 17; i++) batcher.hold(socket, 1000);
    expect(socket.uncorks).toBe(1);
    expect(socket.corked).toBe(true);
  });

  it('reports as backlog what the kernel had not taken when holding began, not what is held', async () => {
    const batcher = new TurnBatcher();
    const socket = fakeSocket();
    (socket as { writableLength: number }).writableLength = 500;
    batcher.hold(socket, 100);
    batcher.hold(socket, 100);
    (socket as { writableLength: number }).writableLength = 700; // the held writes
    expect(batcher.backlog(socket)).toBe(500);
    await nextTick();
    expect(batcher.backlog(socket)).toBe(700);
  });
});
