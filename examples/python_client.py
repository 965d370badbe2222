"""autobahn-python (Debian's python3-autobahn + python3-cbor2) against Switchboard over wamp.2.cbor.

Usage: /usr/bin/python3 examples/python_client.py [ws://127.0.0.1:8080/] [realm1]
With JWT login, put the token in SWITCHBOARD_TOKEN.
"""
import asyncio
import os
import sys

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession
from autobahn.wamp.serializer import CBORSerializer

URL = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8080/"
REALM = sys.argv[2] if len(sys.argv) > 2 else "realm1"
TOKEN = os.environ.get("SWITCHBOARD_TOKEN")


class Client(ApplicationSession):
    def onConnect(self):
        if TOKEN:
            self.join(self.config.realm, authmethods=["ticket"])
        else:
            self.join(self.config.realm)

    def onChallenge(self, challenge):
        return TOKEN

    async def onJoin(self, details):
        print(f"joined {details.realm} as {details.authid} (role {details.authrole}, session {details.session})")
        await self.register(lambda a, b: a * b, "com.example.multiply")
        await self.subscribe(lambda text: print("news:", text), "com.example.news")
        print("com.example.multiply(6, 7) =", await self.call("com.example.multiply", 6, 7))
        await self.publish("com.example.news", "hello from python",
                           options={"acknowledge": True, "exclude_me": False})
        await asyncio.sleep(0.3)
        self.leave()

    def onDisconnect(self):
        asyncio.get_event_loop().stop()


if __name__ == "__main__":
    ApplicationRunner(URL, REALM, serializers=[CBORSerializer()]).run(Client)
