/**
 * A session sink that records everything the core hands it, for unit tests that drive the core directly (no
 * mocking library: the recorded calls are the assertions' input).
 */
import type { Payload } from '../../src/core/payload.js';
import type { CancelMode, Invocation, Publication, SessionSink, SubscriberOptions, SubscriptionRef } from '../../src/core/types.js';

export class RecordingSink implements SessionSink {
  readonly events: Array<{ publication: Publication; subscription: SubscriptionRef; options: SubscriberOptions }> = [];
  readonly invocations: Invocation[] = [];
  readonly interrupts: Array<{ invocation: Invocation; mode: CancelMode; reason: string }> = [];
  readonly results: Array<{ requestId: number; payload: Payload }> = [];
  readonly errors: Array<{ requestId: number; error: string; payload: Payload | undefined }> = [];
  readonly closes: Array<{ reason: string; message: string }> = [];

  event(publication: Publication, subscription: SubscriptionRef, options: SubscriberOptions): void {
    this.events.push({ publication, subscription, options });
  }
  invocation(invocation: Invocation): void {
    this.invocations.push(invocation);
  }
  interrupt(invocation: Invocation, mode: CancelMode, reason: string): void {
    this.interrupts.push({ invocation, mode, reason });
  }
  result(requestId: number, payload: Payload): void {
    this.results.push({ requestId, payload });
  }
  callError(requestId: number, error: string, payload: Payload | undefined): void {
    this.errors.push({ requestId, error, payload });
  }
  close(reason: string, message: string): void {
    this.closes.push({ reason, message });
  }
}
