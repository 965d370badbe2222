/**
 * Deadlines for many items with few distinct delays (call timeouts: nearly every call has the router's default),
 * without a Node timer per item. Items with the same delay fall due in the order they were added, so each delay
 * keeps a list in that order, linked through the items themselves, and one timer for the list's first item.
 * Adding and removing are O(1) and allocate nothing. A Timeout per call, set and cleared within a millisecond,
 * was a measurable part of the dealer's cost per call.
 */

/** The fields an item lends the queue. Only `Deadlines` reads or writes them. */
export interface DueLinks {
  dueAt: number;
  dueList: DueList | undefined;
  duePrevious: DueLinks | undefined;
  dueNext: DueLinks | undefined;
}

export interface DueList {
  first: DueLinks | undefined;
  last: DueLinks | undefined;
  timer: NodeJS.Timeout | undefined;
  readonly delayMs: number;
}

/** setTimeout fires at once for delays past 2^31 - 1 ms; a list re-arms itself until its item is due. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Deadlines<T extends DueLinks> {
  private readonly lists = new Map<number, DueList>();

  constructor(
    /** Called once for an item whose delay passed; the item has already left its list. */
    private readonly expire: (item: T) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `item` falls due `delayMs` from now; it must not be in a list already. */
  add(item: T, delayMs: number): void {
    let list = this.lists.get(delayMs);
    if (list === undefined) {
      list = { first: undefined, last: undefined, timer: undefined, delayMs };
      this.lists.set(delayMs, list);
    }
    item.dueAt = this.now() + delayMs;
    item.dueList = list;
    item.duePrevious = list.last;
    item.dueNext = undefined;
    if (list.last === undefined) {
      list.first = item;
      list.last = item;
      // A timer still armed for an earlier first item fires early, finds this one not yet due, and re-arms.
      if (list.timer === undefined) this.arm(list);
    } else {
      list.last.dueNext = item;
      list.last = item;
    }
  }

  /** Takes `item` out of its list, if it is in one. */
  remove(item: T): void {
    const list = item.dueList;
    if (list === undefined) return;
    if (item.duePrevious === undefined) list.first = item.dueNext;
    else item.duePrevious.dueNext = item.dueNext;
    if (item.dueNext === undefined) list.last = item.duePrevious;
    else item.dueNext.duePrevious = item.duePrevious;
    item.dueList = undefined;
    item.duePrevious = undefined;
    item.dueNext = undefined;
    // The timer stays armed even for an emptied list: calls answered one at a time would otherwise set and clear
    // a timer each, as before. It finds the next first item not yet due and re-arms, or drops the empty list.
  }

  /** How many delays have a list (with its timer), for tests: lists must not outlive their items for long. */
  get listCount(): number {
    return this.lists.size;
  }

  private arm(list: DueList): void {
    const wait = Math.min(Math.max(1, Math.ceil(list.first!.dueAt - this.now())), MAX_TIMER_MS);
    list.timer = setTimeout(() => this.fire(list), wait);
    list.timer.unref?.();
  }

  private fire(list: DueList): void {
    list.timer = undefined;
    const now = this.now();
    // `expire` may add or remove items (of this list too): read the first item again each time.
    for (let item = list.first; item !== undefined && item.dueAt <= now; item = list.first) {
      this.remove(item as T);
      this.expire(item as T);
    }
    if (list.first !== undefined) {
      if (list.timer === undefined) this.arm(list);
    } else if (list.timer === undefined && this.lists.get(list.delayMs) === list) {
      // An empty list goes with its timer, so that delays used once are not kept for ever.
      this.lists.delete(list.delayMs);
    }
  }
}
