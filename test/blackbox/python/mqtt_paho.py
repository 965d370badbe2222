#!/usr/bin/python3
"""
A small Eclipse Paho (paho-mqtt, Debian's python3-paho-mqtt) client that the black-box tests drive
(test/blackbox/mqtt-paho.test.ts). It speaks MQTT over WebSocket (transport "websockets", path "/"; paho offers
the WebSocket subprotocol "mqtt").

    /usr/bin/python3 mqtt_paho.py URL {311,5} SCENARIO [--jwt TOKEN] [--topic TOPIC] [--qos 0,1,2] [--timeout SECONDS]

With --jwt the client logs in with username "alice" and the JWT as its password.

Scenarios:
  pubsub      subscribe (QoS 2) to a fresh topic, publish at each QoS of --qos (default 0,1,2) to itself, check
              that each arrives once with its QoS and payload; publish a retained message and check that a new subscription gets it with
              RETAIN set. 5.0: user properties and content type round-trip too.
  connect     connect and report the CONNACK (exit 2 when it is a refusal)
  persistent  persistent session (3.1.1 clean session 0; 5.0 Clean Start 0 with a Session Expiry Interval):
              subscribe QoS 1, disconnect, let a second client publish QoS 1 while away, reconnect and check the
              session is present and the message arrives
  receive     subscribe to --topic, print {"ready": true}, wait for one message and report it
  publish     publish one QoS 1 message to --topic and report it

stdout carries JSON lines only: for `receive` a ready line first, and always exactly one result line last
({"ok": true, ...} or {"ok": false, "error": ...}). Exit codes: 0 success, 1 a check or the scenario failed,
2 the router refused the connection, 3 timeout, 4 bad usage or missing modules. The whole run is bounded by
--timeout (default 10 s): it never hangs.

Works with paho-mqtt 1.x and 2.x (2.x is asked for its VERSION2 callbacks, whose signatures match 1.x's
MQTT 5 ones; the callbacks below take what both give).
"""
import argparse
import json
import os
import secrets
import sys
import threading
import time
import traceback
from urllib.parse import urlparse

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_TIMEOUT, EXIT_USAGE = 0, 1, 2, 3, 4

_emit_lock = threading.Lock()


def emit(obj):
    with _emit_lock:
        sys.stdout.write(json.dumps(obj, default=repr) + "\n")
        sys.stdout.flush()


try:
    import paho.mqtt
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
except ImportError as exc:  # pragma: no cover - environment problem
    emit({"ok": False, "error": "missing python module: %s (install python3-paho-mqtt)" % exc, "python": sys.executable})
    sys.exit(EXIT_USAGE)

PAHO_VERSION = getattr(paho.mqtt, "__version__", "unknown")


class Failure(Exception):
    def __init__(self, message, code=EXIT_FAILED, **details):
        super().__init__(message)
        self.code = code
        self.details = details


def value_of(code):
    """A reason code as an int, whatever paho version or protocol produced it."""
    if isinstance(code, list):
        return [value_of(c) for c in code]
    return getattr(code, "value", code)


class Conn:
    """One paho client with events for what the scenarios wait on."""

    def __init__(self, url, version, client_id="", clean=True, jwt=None, session_expiry=None):
        parsed = urlparse(url)
        self.host = parsed.hostname
        self.port = parsed.port
        self.version = version
        self.protocol = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        self.clean = clean
        self.session_expiry = session_expiry
        # No reconnects: a refusal or a close is a result to report, not something to retry.
        kwargs = dict(client_id=client_id, transport="websockets", protocol=self.protocol, reconnect_on_failure=False)
        if self.protocol != mqtt.MQTTv5:
            kwargs["clean_session"] = clean
        if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
            kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION2
        self.client = mqtt.Client(**kwargs)
        self.client.ws_set_options(path="/")
        if jwt is not None:
            self.client.username_pw_set("alice", jwt)
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.subscribed = threading.Event()
        self.connack = None
        self.granted = None
        self.messages = []
        self.message_arrived = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # Callbacks: 1.x gives (client, userdata, flags, rc) for 3.1.1 and adds properties for 5.0; 2.x VERSION2
    # always gives five arguments.
    def _on_connect(self, client, userdata, flags, rc, properties=None):
        present = flags.get("session present") if isinstance(flags, dict) else getattr(flags, "session_present", None)
        assigned = getattr(properties, "AssignedClientIdentifier", None) if properties is not None else None
        self.connack = {"rc": value_of(rc), "session_present": bool(present), "assigned_client_id": assigned}
        self.connected.set()

    def _on_disconnect(self, client, userdata, *args):
        self.disconnected.set()

    def _on_subscribe(self, client, userdata, mid, granted, *args):
        self.granted = value_of(list(granted))
        self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        entry = {
            "topic": msg.topic,
            "payload": msg.payload.decode("utf-8", "replace"),
            "qos": msg.qos,
            "retain": bool(msg.retain),
            "dup": bool(msg.dup),
        }
        props = getattr(msg, "properties", None)
        if props is not None:
            user = getattr(props, "UserProperty", None)
            if user:
                entry["user_properties"] = [list(pair) for pair in user]
            content_type = getattr(props, "ContentType", None)
            if content_type is not None:
                entry["content_type"] = content_type
        with self.message_arrived:
            self.messages.append(entry)
            self.message_arrived.notify_all()

    def connect(self, wait=5.0, expect_ok=True):
        kwargs = {"keepalive": 30}
        if self.protocol == mqtt.MQTTv5:
            kwargs["clean_start"] = self.clean
            if self.session_expiry is not None:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self.session_expiry
                kwargs["properties"] = props
        self.client.connect(self.host, self.port, **kwargs)
        self.client.loop_start()
        if not self.connected.wait(wait):
            raise Failure("no CONNACK within %.1f s" % wait, EXIT_TIMEOUT)
        if expect_ok and self.connack["rc"] != 0:
            raise Failure("connection refused", EXIT_REFUSED, connack=self.connack)
        return self.connack

    def subscribe(self, topic, qos, wait=5.0):
        self.subscribed.clear()
        result, _mid = self.client.subscribe(topic, qos)
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise Failure("subscribe could not be sent: %s" % result)
        if not self.subscribed.wait(wait):
            raise Failure("no SUBACK for %s" % topic, EXIT_TIMEOUT)
        return self.granted

    def publish(self, topic, payload, qos, retain=False, properties=None, wait=3.0):
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        info.wait_for_publish(wait)
        if not info.is_published():
            raise Failure("publish to %s (QoS %d) not acknowledged" % (topic, qos), EXIT_TIMEOUT)
        return info.mid

    def wait_messages(self, count, wait=5.0, topic_prefix=None):
        deadline = time.monotonic() + wait

        def matching():
            return [m for m in self.messages if topic_prefix is None or m["topic"].startswith(topic_prefix)]

        with self.message_arrived:
            while len(matching()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("expected %d message(s), got %d" % (count, len(matching())), EXIT_TIMEOUT, received=matching())
                self.message_arrived.wait(left)
            return matching()

    def close(self):
        try:
            self.client.disconnect()
            self.disconnected.wait(2.0)
        finally:
            self.client.loop_stop()


def check(condition, what, **details):
    if not condition:
        raise Failure(what, **details)


# ---------------------------------------------------------------------------------------------------------


def scenario_pubsub(args):
    base = "paho/%s/%s" % (args.version, secrets.token_hex(4))
    conn = Conn(args.url, args.version, client_id="paho-%s" % secrets.token_hex(4), jwt=args.jwt)
    result = {"connack": conn.connect()}
    try:
        result["granted"] = conn.subscribe(base + "/live/#", 2)
        check(result["granted"] == [2], "SUBACK did not grant QoS 2", granted=result["granted"])
        levels = args.qos
        for qos in levels:
            props = None
            if args.version == 5:
                props = Properties(PacketTypes.PUBLISH)
                props.UserProperty = [("k", "v%d" % qos), ("k", "again"), ("qos", str(qos))]
                props.ContentType = "text/plain"
            conn.publish("%s/live/q%d" % (base, qos), "payload-%d" % qos, qos, properties=props)
        live = conn.wait_messages(len(levels), topic_prefix=base + "/live/")
        time.sleep(0.3)  # a duplicate would arrive now
        live = [m for m in conn.messages if m["topic"].startswith(base + "/live/")]
        check(len(live) == len(levels), "each message must arrive exactly once", received=live)
        by_topic = {m["topic"]: m for m in live}
        for qos in levels:
            message = by_topic.get("%s/live/q%d" % (base, qos))
            check(message is not None, "message for QoS %d missing" % qos, received=live)
            check(message["payload"] == "payload-%d" % qos, "payload changed", message=message)
            check(message["qos"] == qos, "QoS %d delivered as %d" % (qos, message["qos"]), message=message)
            check(not message["retain"], "a live message must not have RETAIN", message=message)
            if args.version == 5:
                check(message.get("user_properties") == [["k", "v%d" % qos], ["k", "again"], ["qos", str(qos)]],
                      "user properties changed", message=message)
                check(message.get("content_type") == "text/plain", "content type changed", message=message)
        result["live"] = live

        # Retained: set, then a new subscription gets it with RETAIN set, at min(published, granted) QoS.
        conn.publish(base + "/kept", "retained-payload", 1, retain=True)
        conn.subscribe(base + "/kept", 2)
        kept = conn.wait_messages(1, topic_prefix=base + "/kept")
        check(kept[0]["retain"] and kept[0]["payload"] == "retained-payload" and kept[0]["qos"] == 1,
              "retained message not delivered as retained", received=kept)
        result["retained"] = kept[0]
        # Clear it, so a later run does not see it.
        conn.publish(base + "/kept", b"", 1, retain=True)
    finally:
        conn.close()
    result["ok"] = True
    return result


def scenario_connect(args):
    conn = Conn(args.url, args.version, jwt=args.jwt)
    connack = conn.connect(expect_ok=False)
    if connack["rc"] != 0:
        closed = conn.disconnected.wait(2.0)
        conn.client.loop_stop()
        return {"ok": False, "error": "refused", "connack": connack, "closed": closed}, EXIT_REFUSED
    conn.close()
    return {"ok": True, "connack": connack}, EXIT_OK


def scenario_persistent(args):
    topic = "paho/%s/persist/%s" % (args.version, secrets.token_hex(4))
    client_id = "paho-persist-%s" % secrets.token_hex(4)
    first = Conn(args.url, args.version, client_id=client_id, clean=False, jwt=args.jwt, session_expiry=60)
    first.connect()
    first.subscribe(topic, 1)
    first.close()
    other = Conn(args.url, args.version, client_id="paho-pub-%s" % secrets.token_hex(4), jwt=args.jwt)
    other.connect()
    other.publish(topic, "while away", 1)
    other.close()
    again = Conn(args.url, args.version, client_id=client_id, clean=False, jwt=args.jwt, session_expiry=0)
    connack = again.connect()
    try:
        check(connack["session_present"], "the session was not present on reconnect", connack=connack)
        messages = again.wait_messages(1, topic_prefix=topic)
        check(messages[0]["payload"] == "while away" and messages[0]["qos"] == 1, "wrong message", received=messages)
    finally:
        again.close()
    return {"ok": True, "connack": connack, "received": messages}


def scenario_receive(args):
    check(args.topic, "--topic is required", code=EXIT_USAGE)
    conn = Conn(args.url, args.version, jwt=args.jwt)
    conn.connect()
    try:
        conn.subscribe(args.topic, 1)
        emit({"ready": True})
        messages = conn.wait_messages(1, wait=args.timeout)
    finally:
        conn.close()
    return {"ok": True, "message": messages[0]}


def scenario_publish(args):
    check(args.topic, "--topic is required", code=EXIT_USAGE)
    conn = Conn(args.url, args.version, jwt=args.jwt)
    conn.connect()
    try:
        mid = conn.publish(args.topic, "from paho", 1)
    finally:
        conn.close()
    return {"ok": True, "mid": mid}


SCENARIOS = {
    "pubsub": scenario_pubsub,
    "connect": scenario_connect,
    "persistent": scenario_persistent,
    "receive": scenario_receive,
    "publish": scenario_publish,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("version", choices=["311", "5"])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--jwt")
    parser.add_argument("--topic")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--qos", default="0,1,2", help="pubsub: the QoS levels to publish at, comma-separated")
    try:
        args = parser.parse_args()
    except SystemExit:
        emit({"ok": False, "error": "bad usage"})
        os._exit(EXIT_USAGE)
    args.version = 5 if args.version == "5" else 4
    try:
        args.qos = [int(q) for q in args.qos.split(",")]
        assert args.qos and all(q in (0, 1, 2) for q in args.qos)
    except (ValueError, AssertionError):
        emit({"ok": False, "error": "bad --qos %r" % args.qos})
        os._exit(EXIT_USAGE)

    # The whole run is bounded: past the timeout, report and leave at once (paho threads included).
    def on_timeout():
        emit({"ok": False, "error": "timeout", "timeout": args.timeout, "paho": PAHO_VERSION})
        os._exit(EXIT_TIMEOUT)

    watchdog = threading.Timer(args.timeout, on_timeout)
    watchdog.daemon = True
    watchdog.start()

    code = EXIT_OK
    try:
        outcome = SCENARIOS[args.scenario](args)
        if isinstance(outcome, tuple):
            outcome, code = outcome
        outcome["paho"] = PAHO_VERSION
        with _emit_lock:
            watchdog.cancel()
        emit(outcome)
    except Failure as failure:
        watchdog.cancel()
        emit(dict({"ok": False, "error": str(failure), "paho": PAHO_VERSION}, **failure.details))
        code = failure.code
    except Exception as exc:  # anything unexpected is a failure with its traceback
        watchdog.cancel()
        emit({"ok": False, "error": "%s: %s" % (type(exc).__name__, exc), "traceback": traceback.format_exc(), "paho": PAHO_VERSION})
        code = EXIT_FAILED
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
