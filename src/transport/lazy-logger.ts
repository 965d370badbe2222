import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

/**
 * A child logger that becomes a pino child only when it writes its first line. A pino child costs about 900 bytes
 * per connection (its fields serialized ahead as a string tree, a formatters object), held for the connection's
 * life; at the usual levels most connections never write a line, yet protocol modules read `connection.log` at
 * login and keep it. This one costs a small object until then. It answers everything a pino logger does, because
 * it inherits from the nearest real logger: the level methods are the only thing it must intercept, since pino's
 * own would write without the child's fields. Like pino, it keeps `bindings`; unlike pino, it reads them only
 * then, so they must not change afterwards.
 */
export function lazyChild(parent: Logger, bindings: Bindings): Logger {
  // Below a child that already writes, laziness saves nothing (and its level may differ from the root's).
  if (isLazy(parent) && parent[REAL] !== undefined) return parent[REAL].child(bindings);
  const lazy = Object.create(prototypeFor(realAncestor(parent))) as Lazy;
  lazy[PARENT] = parent;
  lazy[BINDINGS] = bindings;
  lazy[REAL] = undefined;
  return lazy as unknown as Logger;
}

const PARENT = Symbol('parent');
const BINDINGS = Symbol('bindings');
const REAL = Symbol('pino child, once made');

interface Lazy {
  [PARENT]: Logger;
  [BINDINGS]: Bindings;
  [REAL]: Logger | undefined;
}

function isLazy(logger: object): logger is Lazy & Logger {
  return REAL in logger;
}

function realAncestor(logger: Logger): Logger {
  let current = logger;
  while (isLazy(current)) current = current[PARENT];
  return current;
}

/** The pino child, made now if need be: the same chain of `child()` calls an eager logger would have made. */
function real(lazy: Lazy): Logger {
  return (lazy[REAL] ??= make(lazy));
}

function make(lazy: Lazy): Logger {
  const parent = lazy[PARENT];
  // A parent that has not written stays lazy: the child made on its way is not kept for it.
  const base = isLazy(parent) ? (parent[REAL] ?? make(parent)) : parent;
  return base.child(lazy[BINDINGS]);
}

/** One prototype per real logger, shared by every lazy child below it. */
const prototypes = new WeakMap<Logger, object>();

function prototypeFor(root: Logger): object {
  let prototype = prototypes.get(root);
  if (prototype !== undefined) return prototype;
  const methods: PropertyDescriptorMap = {
    child: {
      value(this: Lazy, bindings: Bindings, options?: ChildLoggerOptions): Logger {
        return options === undefined ? lazyChild(this as unknown as Logger, bindings) : real(this).child(bindings, options);
      },
    },
    bindings: {
      value(this: Lazy): Bindings {
        return real(this).bindings();
      },
    },
    setBindings: {
      value(this: Lazy, bindings: Bindings): void {
        real(this).setBindings(bindings);
      },
    },
    // Once made, the child answers: a level set through this logger is the child's.
    isLevelEnabled: {
      value(this: Lazy, level: string): boolean {
        const made = this[REAL];
        return made !== undefined ? made.isLevelEnabled(level) : root.isLevelEnabled.call(this, level);
      },
    },
    // pino's setter would give this object level methods of its own that write without the child's fields.
    level: {
      get(this: Lazy): string {
        return (this[REAL] ?? this[PARENT]).level;
      },
      set(this: Lazy, level: string) {
        real(this).level = level;
      },
    },
  };
  for (const level of Object.keys(root.levels.values)) {
    methods[level] = {
      value(this: Lazy & Logger, ...args: unknown[]): void {
        const made = this[REAL];
        if (made !== undefined) write(made, level, args);
        else if (this.isLevelEnabled(level)) write(real(this), level, args);
      },
    };
  }
  prototype = Object.create(root, methods) as object;
  prototypes.set(root, prototype);
  return prototype;
}

function write(logger: Logger, level: string, args: unknown[]): void {
  (logger as unknown as Record<string, (...args: unknown[]) => void>)[level]!(...args);
}
