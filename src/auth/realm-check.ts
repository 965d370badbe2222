import { printable } from './printable.js';
import type { AuthOutcome, Principal } from './types.js';

/** A token that names a realm admits its holder to that realm only. */
export function checkRealm(principal: Principal, realm: string): AuthOutcome {
  if (principal.realm !== undefined && principal.realm !== realm) {
    return { kind: 'deny', message: `token is for realm '${printable(principal.realm)}'` };
  }
  return { kind: 'accept', principal };
}

