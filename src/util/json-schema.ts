/**
 * A small JSON Schema checker for the keywords our published schemas use (type, enum, const, required,
 * properties, additionalProperties, propertyNames, items, minimum, maximum, exclusiveMinimum, pattern, minItems, oneOf, format date-time). It lets
 * the tool check a result file against schema/bench-result.schema.json before trusting it, and the
 * tests check real output against the same published schema.
 */
type S = Record<string, unknown>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  // JSON has no Infinity, but JSON.parse reads 1e400 as one; no schema type takes it (drawn into a chart, it made `report` abort).
  if (typeof v === 'number') return Number.isFinite(v) ? (Number.isInteger(v) ? 'integer' : 'number') : String(v);
  return typeof v;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * RFC 3339 `date-time`, which JSON Schema's "format": "date-time" names: a real calendar day, hours to 23,
 * minutes to 59, and a second 60 only as the leap second (23:59:60 in UTC). ajv (with ajv-formats) and
 * check-jsonschema assert it; checking it here keeps `merge` from meeting "yesterday" in Date.parse.
 */
function isDateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (days === undefined || day < 1 || day > days) return false;
  const [offH, offM] = m[8] ? [Number(m[8]), Number(m[9])] : [0, 0];
  if (hour > 23 || minute > 59 || second > 60 || offH > 23 || offM > 59) return false;
  if (second < 60) return true;
  const sign = m[7] === '-' ? -1 : 1;
  const utcMinutes = (((hour * 60 + minute - sign * (offH * 60 + offM)) % 1440) + 1440) % 1440;
  return utcMinutes === 23 * 60 + 59;
}

/** Every place `value` breaks `schema`, each as "$.path.to.field: what is wrong". */
export function validate(value: unknown, schema: S, path = '$'): string[] {
  const errors: string[] = [];
  if (schema.const !== undefined && value !== schema.const) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value as never)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [...errors, `${path}: expected ${types.join(' or ')}, got ${t}`];
  }
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${path}: ${value} is below the minimum ${schema.minimum}`);
  if (typeof value === 'number' && typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${path}: ${value} is above the maximum ${schema.maximum}`);
  if (typeof value === 'number' && typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) errors.push(`${path}: ${value} is not above ${schema.exclusiveMinimum}`);
  if (typeof value === 'string' && typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
  if (typeof value === 'string' && schema.format === 'date-time' && !isDateTime(value)) errors.push(`${path}: ${JSON.stringify(value)} is not an RFC 3339 date-time (e.g. 2026-11-30T12:00:00.000Z)`);
  if (Array.isArray(value) && typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
  if (Array.isArray(schema.oneOf)) {
    const matches = (schema.oneOf as S[]).filter((o) => validate(value, o, path).length === 0).length;
    if (matches !== 1) errors.push(`${path}: matches ${matches} of oneOf, expected exactly 1`);
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    // Own keys only, of the value and of `properties`: `k in` would find "constructor" or "toString" on
    // Object.prototype, so a document holding such a key passed an additionalProperties: false.
    for (const k of (schema.required as string[]) ?? []) if (!Object.hasOwn(o, k)) errors.push(`${path}: missing ${k}`);
    const props = (schema.properties as Record<string, S>) ?? {};
    for (const [k, v] of Object.entries(o)) {
      if (schema.propertyNames) errors.push(...validate(k, schema.propertyNames as S, `${path} key ${JSON.stringify(k)}`));
      if (Object.hasOwn(props, k)) errors.push(...validate(v, props[k], `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected key ${k}`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') errors.push(...validate(v, schema.additionalProperties as S, `${path}.${k}`));
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errors.push(...validate(v, schema.items as S, `${path}[${i}]`)));
  return errors;
}
