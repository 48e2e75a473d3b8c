/**
 * A small JSON Schema checker for the keywords our published schemas use (type, enum, const, required,
 * properties, additionalProperties, propertyNames, items, minimum, maximum, exclusiveMinimum, pattern, minItems, oneOf). It lets
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
  if (Array.isArray(value) && typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
  if (Array.isArray(schema.oneOf)) {
    const matches = (schema.oneOf as S[]).filter((o) => validate(value, o, path).length === 0).length;
    if (matches !== 1) errors.push(`${path}: matches ${matches} of oneOf, expected exactly 1`);
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const k of (schema.required as string[]) ?? []) if (!(k in o)) errors.push(`${path}: missing ${k}`);
    const props = (schema.properties as Record<string, S>) ?? {};
    for (const [k, v] of Object.entries(o)) {
      if (schema.propertyNames) errors.push(...validate(k, schema.propertyNames as S, `${path} key ${JSON.stringify(k)}`));
      if (props[k]) errors.push(...validate(v, props[k], `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected key ${k}`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') errors.push(...validate(v, schema.additionalProperties as S, `${path}.${k}`));
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errors.push(...validate(v, schema.items as S, `${path}[${i}]`)));
  return errors;
}
