/**
 * Start-up: the persistent sessions the store kept come back as offline sessions, with their subscriptions,
 * messages owed and QoS 2 state, so that a returning client finds them (Session Present 1) and a publication
 * made before it returns is queued for it.
 */
import type { LoadedSession } from '../../src/port.js';
import type { MqttHub } from './hub.js';
import { RPC_PREFIX } from './rpc.js';
import type { MqttSession, SessionRecord } from './session.js';
import { parseFilter } from './topics.js';

export function restoreSessions(hub: MqttHub): void {
  const { persistence, log } = hub.context;
  const started = Date.now();
  const loaded = persistence.sessions.load();
  let sessions = 0;
  let messages = 0;
  for (const stored of loaded) {
    const session = restoreOne(hub, stored);
    if (session === undefined) continue;
    sessions++;
    messages += stored.entries.length;
  }
  if (loaded.length > 0) {
    log.info({ sessions, messages, dropped: loaded.length - sessions, ms: Date.now() - started }, 'mqtt sessions restored from the store');
  }
}

function restoreOne(hub: MqttHub, stored: LoadedSession): MqttSession | undefined {
  const { persistence, log } = hub.context;
  const record = stored.record as Partial<SessionRecord> | undefined;
  if (record === undefined || typeof record.clientId !== 'string' || typeof record.realm !== 'string' || record.principal === undefined) {
    log.warn({ key: stored.key }, 'stored session record unreadable; dropped');
    persistence.sessions.drop(stored.key);
    return undefined;
  }
  const realm = hub.context.realm(record.realm);
  if (realm === undefined) {
    log.warn({ clientId: record.clientId, realm: record.realm }, 'stored session belongs to a realm this router no longer has; dropped');
    persistence.sessions.drop(stored.key);
    return undefined;
  }
  // The token it last logged in with may have run out meanwhile; the client proves itself again when it returns.
  const { expiresAt: _expired, ...principal } = record.principal;
  const session = hub.createSession(stored.key, record.clientId, realm, principal, {
    connectionId: 'store',
    protocol: 'mqtt',
    transport: 'store',
    remoteAddress: '',
  });
  session.expirySec = record.expirySec ?? 0;
  session.version = record.version ?? 4;
  for (const { filter, options } of record.subscriptions ?? []) {
    const parsed = parseFilter(filter, hub.options);
    if (parsed === undefined) continue;
    if (parsed.pattern[0] === RPC_PREFIX) {
      // Procedures of an offline device are not registered; attaching registers them again.
      session.subscriptions.set(filter, { filter, parsed, options, coreId: -1, rpc: true });
      continue;
    }
    const result = session.subscribeFilter(parsed, options);
    if (!result.ok) {
      log.info({ clientId: record.clientId, filter, error: result.error }, 'stored subscription no longer allowed; dropped');
      continue;
    }
    session.subscriptions.set(filter, { filter, parsed, options, coreId: result.value.subscription.id, rpc: false });
  }
  session.restoreMessages(stored.entries, stored.received);
  session.resumeOffline({ connected: record.connected ?? false, since: record.since ?? Date.now(), will: record.will, willAt: record.willAt });
  if (!session.isEnded) session.saveRecord();
  return session.isEnded ? undefined : session;
}
