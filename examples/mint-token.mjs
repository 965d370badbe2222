// Mints an HS256 JWT for Switchboard, for trying JWT login locally.
// Usage: SWITCHBOARD_JWT_SECRET=change-me node examples/mint-token.mjs [sub=alice] [role=user] [realm]
import { SignJWT } from 'jose';

const secret = process.env.SWITCHBOARD_JWT_SECRET;
if (!secret) {
  console.error('set SWITCHBOARD_JWT_SECRET to the secret the router uses');
  process.exit(2);
}
const [sub = 'alice', role = 'user', realm] = process.argv.slice(2);
const claims = realm ? { role, realm } : { role };
const token = await new SignJWT(claims)
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject(sub)
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(new TextEncoder().encode(secret));
console.log(token);
