/** Counters of the MQTT module: `$SYS/broker/...` publishes them, logs and tests read them. */
export interface MqttStats {
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
  /** Deliveries whose topic has no MQTT spelling (a WAMP component holding `/`, `+` or `#`). */
  uncrossable: number;
  /** QoS 0 deliveries for a client that is not connected. */
  droppedOffline: number;
  /** QoS 1/2 deliveries past a session's queue limit. */
  droppedQueueFull: number;
  /** Deliveries larger than the client's Maximum Packet Size [MQTT-3.1.2-25]. */
  droppedTooLarge: number;
  /** Messages whose Message Expiry Interval ran out before delivery. */
  expired: number;
  /** Publications refused by authorization. */
  refusedPublishes: number;
  /** Connections closed for a protocol error or malformed packet. */
  protocolErrors: number;
}

export function createStats(): MqttStats {
  return {
    messagesReceived: 0,
    messagesSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    uncrossable: 0,
    droppedOffline: 0,
    droppedQueueFull: 0,
    droppedTooLarge: 0,
    expired: 0,
    refusedPublishes: 0,
    protocolErrors: 0,
  };
}
