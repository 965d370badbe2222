#!/usr/bin/python3
"""
A small autobahn-python WAMP client that the black-box tests drive (test/blackbox/wamp-python.test.ts).

    /usr/bin/python3 wamp_client.py URL REALM {json,cbor} SCENARIO [JWT] [--timeout SECONDS]

With a JWT it logs in with WAMP-ticket (the JWT is the ticket), otherwise anonymously.

Scenarios:
  pubsub   subscribe, publish to itself (acknowledge, exclude_me=False), check the event's args/kwargs
  rpc      register/call com.py.add, call a missing procedure, call one that raises ApplicationError
  ticket   join and report the WELCOME details
  cross    subscribe to com.cross, print {"ready": ...}, wait for one event and report it
  publish  publish one event to com.cross.back (acknowledged) and report it
  callee   register com.cross.echo, print {"ready": ...}, serve one call and report it

stdout carries JSON lines only: for `cross`/`callee` a ready line first, and always exactly one result line
last ({"ok": true, ...} or {"ok": false, "error": ...}). Exit codes: 0 success, 1 a check or the scenario
failed, 2 the router aborted the session opening (e.g. authentication denied), 3 timeout, 4 bad usage or
missing modules. The whole run is bounded by --timeout (default 10 s): it never hangs.
"""
import argparse
import asyncio
import base64
import json
import secrets
import sys
import traceback

EXIT_OK, EXIT_FAILED, EXIT_ABORTED, EXIT_TIMEOUT, EXIT_USAGE = 0, 1, 2, 3, 4


def emit(obj):
    sys.stdout.write(json.dumps(obj, default=to_json) + "\n")
    sys.stdout.flush()


def to_json(value):
    """For printing only: bytes become {"bytes": base64}, anything else its repr."""
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        return list(value)
    return repr(value)


try:
    import txaio

    txaio.use_asyncio()
    from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession
    from autobahn.wamp.exception import ApplicationError
    from autobahn.wamp.serializer import CBORSerializer, JsonSerializer
    from autobahn.wamp.types import CallResult, PublishOptions, RegisterOptions, SubscribeOptions  # noqa: F401
    import cbor2  # noqa: F401  (autobahn's CBOR serializer needs it; fail early and clearly)
except ImportError as exc:  # pragma: no cover - environment problem
    emit({"ok": False, "error": "missing python module: %s (install python3-autobahn and python3-cbor2)" % exc,
          "python": sys.executable})
    sys.exit(EXIT_USAGE)


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def is_wamp_id(value):
    # bool is an int subclass; a float id would already have been refused by autobahn's message parser.
    return type(value) is int and 1 <= value <= 2 ** 53 - 1


# The payload that must survive a round trip through the router unchanged, in both serializers.
BIG = 2 ** 40 + 1
SAMPLE_ARGS = [BIG, -BIG, 2 ** 53 - 1, 2 ** 32, 2 ** 32 - 1, 0.1, 1.5, True, False, None,
               "grüße ✓", b"\x00\x01\xfe\xff", [1, [2, [3]]]]
SAMPLE_KWARGS = {
    "big": BIG,
    "nested": {"a": {"b": [1, {"c": None, "d": BIG}], "e": "x"}, "empty": {}, "list": []},
    "bytes": b"\x00binary\xff",
}


def first_difference(expected, actual, path="$"):
    """A readable description of where two decoded values differ (types included), or None."""
    if type(expected) is not type(actual):
        return "%s: expected %s %r, got %s %r" % (path, type(expected).__name__, expected,
                                                  type(actual).__name__, actual)
    if isinstance(expected, dict):
        if set(expected) != set(actual):
            return "%s: keys %r != %r" % (path, sorted(expected), sorted(actual))
        for key in expected:
            diff = first_difference(expected[key], actual[key], "%s.%s" % (path, key))
            if diff:
                return diff
        return None
    if isinstance(expected, (list, tuple)):
        if len(expected) != len(actual):
            return "%s: length %d != %d" % (path, len(expected), len(actual))
        for i, (e, a) in enumerate(zip(expected, actual)):
            diff = first_difference(e, a, "%s[%d]" % (path, i))
            if diff:
                return diff
        return None
    if expected != actual:
        return "%s: expected %r, got %r" % (path, expected, actual)
    return None


def welcome_info(details):
    return {
        "session": details.session,
        "session_type": type(details.session).__name__,
        "realm": details.realm,
        "authid": details.authid,
        "authrole": details.authrole,
        "authmethod": details.authmethod,
        "authprovider": details.authprovider,
        "serializer": details.serializer,
    }


def unique(prefix):
    return "%s.%s" % (prefix, secrets.token_hex(4))


# --- scenarios: each is `async def (session, details) -> dict` and raises CheckFailed on a failed check ---


async def scenario_pubsub(session, details):
    topic = unique("com.py.pubsub")
    received = asyncio.get_running_loop().create_future()

    def on_event(*args, **kwargs):
        event_details = kwargs.pop("details")
        if not received.done():
            received.set_result((list(args), kwargs, event_details))

    subscription = await session.subscribe(on_event, topic, options=SubscribeOptions(details_arg="details"))
    check(is_wamp_id(subscription.id), "subscription id %r is not a WAMP id" % (subscription.id,))
    publication = await session.publish(topic, *SAMPLE_ARGS,
                                        options=PublishOptions(acknowledge=True, exclude_me=False), **SAMPLE_KWARGS)
    check(publication is not None and is_wamp_id(publication.id),
          "acknowledged publish gave no valid publication id: %r" % (publication,))
    args, kwargs, event_details = await asyncio.wait_for(received, 5)
    check(first_difference(SAMPLE_ARGS, args) is None, "args: %s" % first_difference(SAMPLE_ARGS, args))
    check(first_difference(SAMPLE_KWARGS, kwargs) is None, "kwargs: %s" % first_difference(SAMPLE_KWARGS, kwargs))
    check(event_details.publication == publication.id,
          "EVENT publication id %r != PUBLISHED id %r" % (event_details.publication, publication.id))
    await subscription.unsubscribe()
    return {"ok": True, "topic": topic, "subscription": subscription.id, "publication": publication.id,
            "event_publication": event_details.publication, "args": args, "kwargs": kwargs}


async def scenario_rpc(session, details):
    procedure = "com.py.add"
    failing = "com.py.fail"

    def add(a, b):
        return a + b

    def fail():
        raise ApplicationError("com.py.oops", 1, 2)

    def echo(*args, **kwargs):
        return CallResult(*args, **kwargs)

    registrations = [await session.register(add, procedure), await session.register(fail, failing),
                     await session.register(echo, "com.py.echo")]
    for registration in registrations:
        check(is_wamp_id(registration.id), "registration id %r is not a WAMP id" % (registration.id,))

    result = {"ok": True, "procedure": procedure, "registrations": [r.id for r in registrations]}
    sum_small = await session.call(procedure, 2, 3)
    check(sum_small == 5 and type(sum_small) is int, "add(2, 3) gave %r" % (sum_small,))
    sum_big = await session.call(procedure, 2 ** 40, 1)
    check(sum_big == BIG and type(sum_big) is int, "add(2**40, 1) gave %r" % (sum_big,))
    result["sum_small"], result["sum_big"] = sum_small, sum_big
    echoed = await session.call("com.py.echo", *SAMPLE_ARGS, **SAMPLE_KWARGS)
    check(isinstance(echoed, CallResult), "echo gave %r, not a CallResult" % (echoed,))
    diff = first_difference(SAMPLE_ARGS, list(echoed.results)) or first_difference(SAMPLE_KWARGS, echoed.kwresults)
    check(diff is None, "echo round trip: %s" % diff)

    try:
        value = await session.call(unique("com.py.missing"))
        raise CheckFailed("calling a missing procedure returned %r" % (value,))
    except ApplicationError as e:
        check(e.error == "wamp.error.no_such_procedure", "missing procedure gave error %r" % (e.error,))
        result["missing_error"] = e.error

    try:
        value = await session.call(failing)
        raise CheckFailed("calling the failing procedure returned %r" % (value,))
    except ApplicationError as e:
        check(e.error == "com.py.oops", "failing procedure gave error %r" % (e.error,))
        check(list(e.args) == [1, 2], "failing procedure gave args %r" % (e.args,))
        check(not e.kwargs, "failing procedure gave kwargs %r" % (e.kwargs,))
        result["raised_error"], result["raised_args"] = e.error, list(e.args)

    for registration in registrations:
        await registration.unregister()
    return result


async def scenario_ticket(session, details):
    return {"ok": True}


async def scenario_cross(session, details):
    received = asyncio.get_running_loop().create_future()

    def on_event(*args, **kwargs):
        event_details = kwargs.pop("details")
        if not received.done():
            received.set_result((list(args), kwargs, event_details))

    subscription = await session.subscribe(on_event, "com.cross", options=SubscribeOptions(details_arg="details"))
    emit({"ready": True, "session": details.session, "subscription": subscription.id})
    args, kwargs, event_details = await received
    return {"ok": True, "topic": "com.cross", "args": args, "kwargs": kwargs,
            "publication": event_details.publication}


async def scenario_publish(session, details):
    publication = await session.publish("com.cross.back", "from python", BIG, {"nested": [1, 2, {"x": BIG}]},
                                        options=PublishOptions(acknowledge=True), who="python", big=BIG)
    check(publication is not None and is_wamp_id(publication.id), "bad publication %r" % (publication,))
    return {"ok": True, "topic": "com.cross.back", "publication": publication.id}


async def scenario_callee(session, details):
    called = asyncio.get_running_loop().create_future()

    def echo(*args, **kwargs):
        if not called.done():
            called.set_result((list(args), kwargs))
        return CallResult(*args, echoed_by="python", **kwargs)

    registration = await session.register(echo, "com.cross.echo")
    emit({"ready": True, "session": details.session, "registration": registration.id})
    args, kwargs = await called
    await asyncio.sleep(0.05)  # let the YIELD go out before leaving
    return {"ok": True, "procedure": "com.cross.echo", "args": args, "kwargs": kwargs}


SCENARIOS = {
    "pubsub": scenario_pubsub,
    "rpc": scenario_rpc,
    "ticket": scenario_ticket,
    "cross": scenario_cross,
    "publish": scenario_publish,
    "callee": scenario_callee,
}


class Outcome:
    def __init__(self, loop):
        self.result = loop.create_future()  # (dict, exit code)
        self.disconnected = loop.create_future()

    def finish(self, obj, code):
        if not self.result.done():
            self.result.set_result((obj, code))


class Client(ApplicationSession):
    def __init__(self, config):
        super().__init__(config)
        self.opts = config.extra
        self.outcome = self.opts["outcome"]
        self.joined = False

    def onConnect(self):
        if self.opts["token"]:
            self.join(self.config.realm, authmethods=["ticket"])
        else:
            self.join(self.config.realm, authmethods=["anonymous"])

    def onChallenge(self, challenge):
        if challenge.method == "ticket":
            return self.opts["token"]
        raise Exception("unexpected challenge method %r" % challenge.method)

    async def onJoin(self, details):
        self.joined = True
        info = welcome_info(details)
        try:
            check(is_wamp_id(details.session), "WELCOME session id %r is not a WAMP id" % (details.session,))
            result = await SCENARIOS[self.opts["scenario"]](self, details)
            self.outcome.finish(dict(result, welcome=info, session=details.session), EXIT_OK)
        except CheckFailed as e:
            self.outcome.finish({"ok": False, "error": str(e), "welcome": info}, EXIT_FAILED)
        except ApplicationError as e:
            self.outcome.finish({"ok": False, "error": "unexpected WAMP error %s" % e.error, "args": list(e.args),
                                 "kwargs": e.kwargs, "welcome": info}, EXIT_FAILED)
        except Exception as e:  # noqa: BLE001 - report anything
            self.outcome.finish({"ok": False, "error": "%s: %s" % (type(e).__name__, e),
                                 "traceback": traceback.format_exc(), "welcome": info}, EXIT_FAILED)
        try:
            self.leave()
        except Exception:  # noqa: BLE001 - already gone
            self.disconnect()

    def onUserError(self, fail, msg):
        # com.py.fail raises ApplicationError on purpose; autobahn would log it as a user error.
        if isinstance(getattr(fail, "value", None), ApplicationError):
            return
        super().onUserError(fail, msg)

    def onLeave(self, details):
        if not self.joined:
            # ABORT during session opening: autobahn reports it as a leave before any join.
            self.outcome.finish({"ok": False, "error": "aborted", "reason": details.reason,
                                 "message": details.message}, EXIT_ABORTED)
        else:
            self.outcome.finish({"ok": False, "error": "session left early", "reason": details.reason,
                                 "message": details.message}, EXIT_FAILED)
        self.disconnect()

    def onDisconnect(self):
        self.outcome.finish({"ok": False, "error": "transport closed before a result"}, EXIT_FAILED)
        if not self.outcome.disconnected.done():
            self.outcome.disconnected.set_result(None)


async def run(args, loop):
    outcome = Outcome(loop)
    serializers = [CBORSerializer()] if args.serializer == "cbor" else [JsonSerializer()]
    extra = {"scenario": args.scenario, "token": args.jwt, "outcome": outcome}
    runner = ApplicationRunner(args.url, args.realm, extra=extra, serializers=serializers)
    transport = None
    try:
        transport, _protocol = await runner.run(Client, start_loop=False)
        obj, code = await outcome.result
    except ConnectionError as e:
        obj, code = {"ok": False, "error": "cannot connect: %s" % e}, EXIT_FAILED
    # Give the GOODBYE / close handshake a moment, but never wait long.
    if transport is not None:
        try:
            await asyncio.wait_for(asyncio.shield(outcome.disconnected), 1.0)
        except asyncio.TimeoutError:
            transport.close()
    return obj, code


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("realm")
    parser.add_argument("serializer", choices=["json", "cbor"])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("jwt", nargs="?", default=None)
    parser.add_argument("--timeout", type=float, default=10.0)
    try:
        args = parser.parse_args()
    except SystemExit:
        emit({"ok": False, "error": "bad usage"})
        sys.exit(EXIT_USAGE)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        obj, code = loop.run_until_complete(asyncio.wait_for(run(args, loop), args.timeout))
    except asyncio.TimeoutError:
        obj, code = {"ok": False, "error": "timeout after %gs" % args.timeout}, EXIT_TIMEOUT
    except Exception as e:  # noqa: BLE001
        obj, code = {"ok": False, "error": "%s: %s" % (type(e).__name__, e), "traceback": traceback.format_exc()}, \
            EXIT_FAILED
    obj.setdefault("serializer", args.serializer)
    obj.setdefault("scenario", args.scenario)
    emit(obj)
    sys.stdout.flush()
    # Skip interpreter teardown of half-closed transports: the result is out, nothing else matters.
    import os
    os._exit(code)


if __name__ == "__main__":
    main()
