/** autobahn-js sessions for black-box tests, over JSON or CBOR, closed by the test's cleanup. */
import autobahn from 'autobahn';

export type AutobahnSerializer = 'json' | 'cbor';

export interface OpenSession {
  session: any;
  connection: any;
  details: Record<string, any>;
  close(): Promise<void>;
}

export function openSession(url: string, serializer: AutobahnSerializer, options: Record<string, unknown> = {}): Promise<OpenSession> {
  const serializers =
    serializer === 'cbor' ? [new autobahn.serializer.CBORSerializer()] : [new autobahn.serializer.JSONSerializer()];
  return new Promise((resolve, reject) => {
    const connection = new autobahn.Connection({ url, realm: 'realm1', serializers, max_retries: 0, ...options });
    let closed: () => void = () => undefined;
    const closedPromise = new Promise<void>((done) => (closed = done));
    connection.onopen = (session: any, details: Record<string, any>) =>
      resolve({
        session,
        connection,
        details,
        close: async () => {
          if (connection.isOpen) {
            connection.close();
            await closedPromise;
          }
        },
      });
    connection.onclose = (reason: string, info: unknown) => {
      closed();
      reject(new Error(`connection closed: ${reason} ${JSON.stringify(info)}`));
      return true;
    };
    connection.open();
  });
}

/** A promise and its resolver, for events that arrive through callbacks. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** Rejects when the promise does not settle in time, so a missing message fails fast with a message. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)),
  ]);
}
