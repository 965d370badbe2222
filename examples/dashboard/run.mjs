// The live IoT dashboard in one command:  node examples/dashboard/run.mjs [--port 8080] [--devices 2]
//
// Starts the router with a JWT secret and the authorization rules in router-config.json, serving public/ over
// HTTP on its one port; starts simulated devices (device.mjs) that log in with device tokens; and prints the
// dashboard's address with a viewer token in the URL fragment (the fragment never leaves the browser).
// SWITCHBOARD_JWT_SECRET picks the secret; without it a random one is made for this run.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startDevice } from './device.mjs';
import { choosePort, copyAutobahn, mintToken, onStop, option, REPO, startRouter } from './launch.mjs';

const here = join(REPO, 'examples', 'dashboard');
const publicDir = join(here, 'public');
const port = await choosePort(option('port', process.env.PORT ?? '8080'));
const deviceCount = Math.max(1, Number(option('devices', '2')));
const secret = process.env.SWITCHBOARD_JWT_SECRET ?? randomBytes(32).toString('hex');

copyAutobahn(publicDir);
// The secret goes through the environment, not a flag, so that it does not show up in `ps`.
const router = await startRouter({
  port,
  publicDir,
  args: ['--config', join(here, 'router-config.json')],
  env: { SWITCHBOARD_JWT_SECRET: secret },
});

const devices = [];
onStop(async () => {
  await Promise.all(devices.map((device) => device.stop()));
  await router.stop();
});

for (let n = 1; n <= deviceCount; n++) {
  const id = `d${n}`;
  devices.push(await startDevice({ url: router.url, id, token: mintToken(secret, id, 'device'), log: console.log }));
}

const viewerToken = mintToken(secret, 'viewer', 'viewer');
console.log(`
Dashboard: ${router.page}#token=${viewerToken}

Open that address in a browser (the token in it logs you in as "viewer"), or open ${router.page}
and paste this token:
${viewerToken}

Ctrl-C stops the router and the devices.`);
