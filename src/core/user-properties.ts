/**
 * User properties are ordered name/value pairs in which a name may repeat (MQTT 5 section 3.3.2.3.7). Outside
 * the core they travel as an object whose repeated names hold lists of values: mqtt-packet's shape, and the
 * shape WAMP EVENT details use.
 */
export type UserPropertyObject = Record<string, string | string[]>;

export function userPropertiesToObject(pairs: ReadonlyArray<readonly [string, string]>): UserPropertyObject {
  const result: UserPropertyObject = {};
  for (const [name, value] of pairs) {
    const current = result[name];
    if (current === undefined) result[name] = value;
    else if (Array.isArray(current)) current.push(value);
    else result[name] = [current, value];
  }
  return result;
}

export function userPropertiesFromObject(object: Readonly<Record<string, unknown>>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(object)) {
    if (Array.isArray(value)) for (const item of value) pairs.push([name, String(item)]);
    else pairs.push([name, String(value)]);
  }
  return pairs;
}
