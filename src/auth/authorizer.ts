/**
 * Authorization: per realm and role, allow and deny patterns for publish, subscribe, call and register (see
 * `rules.ts`), optionally narrowed further by a permissions claim in the session's token.
 */
import type { Config } from '../config/defaults.js';
import type { Policy } from '../core/match/types.js';
import type { Session } from '../core/session.js';
import type { Action, Authorizer } from '../core/types.js';
import { ACTIONS, compileRoles, RuleSet, type RealmRules } from './rules.js';

/** With no rules configured, every admitted session may do everything (Mosquitto's convention). */
export const allowAll: Authorizer = {
  authorize: () => true,
};

/** The role that may do everything in a realm that does not list it among its roles. */
export const ADMIN_ROLE = 'admin';

/** The authrole of the router's own session (`Realm.system`), which is never refused. */
export const SYSTEM_ROLE = 'system';

/** The authprovider of the router's own session: with {@link SYSTEM_ROLE}, what marks it (a token cannot). */
export const SYSTEM_PROVIDER = 'internal';

/** What {@link createAuthorizer} needs. */
export interface AuthorizerConfig {
  /** The realms of the configuration; only their `roles` are read. */
  realms: Config['realms'];
  /** Name of the token claim that may narrow a session's rights (`jwt.claims.permissions`). */
  permissionsClaim: string;
}

/** A permissions claim, compiled: a rule set per action it narrows; an action left out is not narrowed. */
type Permissions = Partial<Record<Action, RuleSet>>;

/** The compiled rules of every realm, swapped as one value by `reload`. */
interface RuleState {
  /** Some role is configured in some realm: what is not allowed is denied. */
  readonly hasRules: boolean;
  readonly realms: ReadonlyMap<string, RealmRules>;
}

const MALFORMED = 'malformed';

/**
 * The rule-based {@link Authorizer}. Decisions, in order:
 * 1. The router's own session (authrole `system`, authprovider `internal`) may do everything.
 * 2. The role: with no roles configured in any realm, every role may do everything. Otherwise the session's
 *    role in the session's realm decides (an allow pattern must match, or for a pattern subscription or
 *    registration cover, and no deny pattern may match or overlap); `admin` may do everything when the realm
 *    does not list it; any other role the realm does not list may do nothing.
 * 3. The permissions claim, when the session's token has one, may only narrow that: an action must be allowed
 *    by its list too (a list left out does not narrow; an empty list allows nothing). A claim that is not such
 *    an object denies the session everything.
 */
export class RuleAuthorizer implements Authorizer {
  private state: RuleState;
  /** Compiled claims, by the claim's value object: compiled once per token, not per check. */
  private readonly claims = new WeakMap<object, Permissions | typeof MALFORMED>();

  /** Compiles the rules of every realm. Throws a `RuleError` naming the config key of a bad pattern. */
  constructor(
    realms: Config['realms'],
    private readonly permissionsClaim: string,
  ) {
    this.state = compileState(realms);
  }

  /** True once any role is configured in any realm: from then on, what is not allowed is denied. */
  get hasRules(): boolean {
    return this.state.hasRules;
  }

  /**
   * Replaces every realm's rules at once. The new rules are compiled first, so a bad pattern throws (a
   * `RuleError`) and leaves the old rules in force. New rules apply to every check from now on; this does not
   * itself re-check subscriptions and registrations already made (the caller does, e.g. with the router's
   * revalidation). Compiled permissions claims are kept: they do not depend on the rules.
   */
  reload(realms: Config['realms']): void {
    this.state = compileState(realms);
  }

  /** Whether `session` may perform `action` on the topic or URI `pattern` under `policy`. */
  authorize(session: Session, action: Action, pattern: readonly string[], policy: Policy): boolean {
    const principal = session.principal;
    if (principal.authrole === SYSTEM_ROLE && principal.authprovider === SYSTEM_PROVIDER) return true;
    return this.roleAllows(session, action, pattern, policy) && this.claimAllows(session, action, pattern, policy);
  }

  private roleAllows(session: Session, action: Action, pattern: readonly string[], policy: Policy): boolean {
    const state = this.state;
    if (!state.hasRules) return true;
    const role = state.realms.get(session.realm.name)?.get(session.authrole);
    if (role === undefined) return session.authrole === ADMIN_ROLE;
    return role[action].permits(pattern, policy);
  }

  private claimAllows(session: Session, action: Action, pattern: readonly string[], policy: Policy): boolean {
    const claims = session.principal.claims;
    if (claims === undefined || !Object.hasOwn(claims, this.permissionsClaim)) return true;
    const permissions = this.permissionsOf(claims[this.permissionsClaim]);
    if (permissions === MALFORMED) return false;
    const rules = permissions[action];
    return rules === undefined || rules.permits(pattern, policy);
  }

  private permissionsOf(value: unknown): Permissions | typeof MALFORMED {
    if (value === null || typeof value !== 'object') return MALFORMED;
    let permissions = this.claims.get(value);
    if (permissions === undefined) {
      permissions = compilePermissions(value);
      this.claims.set(value, permissions);
    }
    return permissions;
  }
}

/**
 * Creates the authorizer from the configured realms (their `roles`) and the name of the permissions claim.
 * Throws a `RuleError` naming the config key of a bad pattern (`loadConfig` refuses those earlier).
 */
export function createAuthorizer(config: AuthorizerConfig): RuleAuthorizer {
  return new RuleAuthorizer(config.realms, config.permissionsClaim);
}

function compileState(realms: Config['realms']): RuleState {
  const compiled = new Map<string, RealmRules>();
  let hasRules = false;
  for (const [name, realm] of Object.entries(realms)) {
    const roles = compileRoles(realm.roles, `realms.${name}.roles`);
    if (roles.size > 0) hasRules = true;
    compiled.set(name, roles);
  }
  return { hasRules, realms: compiled };
}

/**
 * A permissions claim: a plain object whose only keys are actions, each a list of valid pattern strings.
 * Anything else (an array, an unknown key, a non-string item, a bad pattern) is malformed.
 */
function compilePermissions(value: object): Permissions | typeof MALFORMED {
  if (Array.isArray(value)) return MALFORMED;
  const permissions: Permissions = {};
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(ACTIONS as readonly string[]).includes(key)) return MALFORMED;
  }
  for (const action of ACTIONS) {
    if (!Object.hasOwn(record, action)) continue;
    const list = record[action];
    if (!Array.isArray(list) || !list.every((item): item is string => typeof item === 'string')) return MALFORMED;
    try {
      permissions[action] = new RuleSet(list);
    } catch {
      return MALFORMED;
    }
  }
  return permissions;
}
