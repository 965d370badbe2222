// autobahn-js against a running Switchboard: register, subscribe, call and publish.
// Usage: node examples/node-client.mjs [ws://127.0.0.1:8080/] [realm1]
// With JWT login: SWITCHBOARD_TOKEN=$(node examples/mint-token.mjs alice) node examples/node-client.mjs
import autobahn from 'autobahn';

const url = process.argv[2] ?? 'ws://127.0.0.1:8080/';
const realm = process.argv[3] ?? 'realm1';
const token = process.env.SWITCHBOARD_TOKEN;

const connection = new autobahn.Connection({
  url,
  realm,
  max_retries: 0,
  ...(token ? { authmethods: ['ticket'], onchallenge: () => token } : {}),
});

connection.onopen = async (session, details) => {
  console.log(`joined realm ${realm} as ${details.authid} (role ${details.authrole}, session ${session.id})`);
  await session.register('com.example.add', ([a, b]) => a + b);
  await session.subscribe('com.example.news', ([headline], _kwargs, eventDetails) => {
    console.log(`news on ${eventDetails.topic}: ${headline}`);
  });
  console.log('com.example.add(2, 3) =', await session.call('com.example.add', [2, 3]));
  await session.publish('com.example.news', ['hello from node'], {}, { acknowledge: true, exclude_me: false });
  setTimeout(() => connection.close(), 300);
};

connection.onclose = (reason, details) => {
  if (reason !== 'closed') console.error('connection ended:', reason, details.reason ?? '', details.message ?? '');
  return true;
};

connection.open();
