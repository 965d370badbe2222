import type { TopicLimits } from './topics.js';

/** The MQTT module's settings, from the `mqtt.*` config keys (README, "Configuration"). */
export interface MqttOptions extends TopicLimits {
  /** Cap on the keepalive a client may ask for, in seconds; 0: no cap. */
  maxKeepalive: number;
  /** Largest packet accepted and announced (Maximum Packet Size), in bytes. */
  maxPacketSize: number;
  /** Receive Maximum the router announces, and the most QoS 1/2 messages it has in flight to one client. */
  maxInflight: number;
  /** Most QoS 1/2 messages queued for one session (offline or past its window); more are dropped. */
  maxQueued: number;
  /** Most subscriptions per session; 0: no limit. */
  maxSubscriptions: number;
  /** Topic Alias Maximum the router announces for client-to-router aliases. */
  topicAliasMaximum: number;
  /** Cap on Session Expiry Interval, in seconds (also the expiry of 3.1.1 persistent sessions); 0: no cap. */
  maxSessionExpiry: number;
  /** Refuse a login whose username differs from the token's subject. */
  requireUsernameMatch: boolean;
  /** Seconds between `$SYS/broker/...` updates; 0 turns them off. */
  sysInterval: number;
}
