import type { Dialect } from './profile.js';
import type { Rng } from './random.js';
import type { ToolCall } from './wire.js';

/**
 * The emulator's answer to a request that offers tools, as the services decide it:
 * - `tool_choice` "none" (Anthropic `{type:"none"}`): no call.
 * - a named tool (OpenAI `{type:"function", function:{name}}`, Anthropic `{type:"tool", name}`): that one.
 * - "required" / `{type:"any"}`: a call, always.
 * - otherwise ("auto"): a call to the first tool, unless the conversation ends with tool results: then
 *   the model answers in text, as a model given what it asked for does, so a client's tool loop (the
 *   openai SDK's `runTools()`, an agent) comes to an end instead of calling the tool forever.
 * The call's arguments fit the tool's JSON schema (strict-mode schemas included: `anyOf`, `$ref`/`$defs`,
 * `const`, formats, bounds), so a client that validates them accepts them.
 */
export function toolCallFor(body: Record<string, unknown>, dialect: Dialect, rng: Rng): ToolCall | undefined {
  const tools = offered(body);
  if (!tools) return undefined;
  const { kind, named } = choiceOf(body);
  if (kind === 'none') return undefined;
  const forced = named !== undefined || kind === 'required' || kind === 'any';
  if (!forced && endsWithToolResults(body.messages, dialect)) return undefined;
  const tool = named === undefined ? tools[0] : tools.find((t) => nameOf(t) === named);
  if (!tool) return undefined; // refused before (toolChoiceProblem)
  const schema = (tool.function?.parameters ?? tool.input_schema) as Schema | undefined;
  const suffix = rng.int(1 << 30).toString(36);
  return { id: dialect === 'anthropic' ? `toolu_01${suffix}` : `call_${suffix}`, name: nameOf(tool), args: JSON.stringify(sampleOf(schema, schema, 0)) };
}

/** A `tool_choice` naming a tool the request does not offer: the service's 400 message, else undefined. */
export function toolChoiceProblem(body: Record<string, unknown>, dialect: Dialect): string | undefined {
  const { named } = choiceOf(body);
  if (named === undefined) return undefined;
  const tools = offered(body) ?? [];
  if (tools.some((t) => nameOf(t) === named)) return undefined;
  return dialect === 'anthropic'
    ? `tool_choice.name: Tool '${named}' not found in provided tools`
    : `Invalid value for 'tool_choice': function '${named}' was not found in 'tools'.`;
}

// OpenAI: {type:"function", function:{name, parameters}}; Anthropic: {name, input_schema}.
type OfferedTool = { name?: string; input_schema?: unknown; function?: { name?: string; parameters?: unknown } };
const nameOf = (t: OfferedTool) => t.function?.name ?? t.name ?? 'tool';
const offered = (body: Record<string, unknown>) => (Array.isArray(body.tools) && body.tools.length > 0 ? (body.tools as OfferedTool[]) : undefined);

function choiceOf(body: Record<string, unknown>): { kind: string | undefined; named: string | undefined } {
  const choice = body.tool_choice as string | { type?: string; name?: string; function?: { name?: string } } | undefined;
  const kind = typeof choice === 'string' ? choice : choice?.type;
  const named = typeof choice === 'object' && choice !== null ? (choice.function?.name ?? (kind === 'tool' ? choice.name : undefined)) : undefined;
  return { kind, named };
}

/** The last message carries tool results: OpenAI a `tool` (or legacy `function`) message, Anthropic `tool_result` blocks. */
function endsWithToolResults(messages: unknown, dialect: Dialect): boolean {
  if (!Array.isArray(messages) || messages.length === 0) return false;
  const last = messages[messages.length - 1] as { role?: unknown; content?: unknown };
  if (dialect !== 'anthropic') return last.role === 'tool' || last.role === 'function';
  return last.role === 'user' && Array.isArray(last.content) && last.content.some((b) => (b as { type?: unknown })?.type === 'tool_result');
}

export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  items?: Schema;
  minItems?: number;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
  $defs?: Record<string, Schema>;
  definitions?: Record<string, Schema>;
  format?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

/** Recursive schemas ($ref to an ancestor) end here: a nullable or optional branch is taken, else the least value. */
const MAX_DEPTH = 8;

const FORMATS: Record<string, string> = {
  'date-time': '2026-01-01T00:00:00Z',
  date: '2026-01-01',
  time: '00:00:00',
  email: 'user@example.com',
  uri: 'https://example.com/',
  uuid: '00000000-0000-4000-8000-000000000000',
};

/**
 * Bounds on what one request's schema can make the emulator build (the schema is the client's): values in
 * all, array items and string length. A schema that needs more than this gets a value cut short there
 * (OpenAI's strict mode allows 5,000 properties and 120,000 characters of schema, far below these).
 */
const MAX_VALUES = 10_000;
const MAX_ITEMS = 100;
const MAX_STRING = 10_000;

/** A value that satisfies the schemas tools use: objects, scalars, enums, arrays, unions, references. */
export function sampleOf(schema: Schema | undefined, root: Schema | undefined, depth: number, budget = { values: 0 }): unknown {
  if (!schema) return {};
  if (depth > 2 * MAX_DEPTH) return null; // a schema that requires itself without end has no finite value
  if (++budget.values > MAX_VALUES) return null;
  if (schema.$ref !== undefined) return sampleOf(resolve(schema.$ref, root), root, depth + 1, budget);
  if ('const' in schema) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const union = schema.anyOf ?? schema.oneOf;
  if (union?.length) {
    // A real value rather than null, unless recursion has gone deep enough to stop.
    const nonNull = union.find((s) => s.type !== 'null');
    return sampleOf(depth >= MAX_DEPTH ? (union.find((s) => s.type === 'null') ?? nonNull) : (nonNull ?? union[0]), root, depth + 1, budget);
  }
  if (schema.allOf?.length) {
    const parts = schema.allOf.map((s) => sampleOf(s, root, depth + 1, budget));
    return parts.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p)) ? Object.assign({}, ...parts) : parts[0];
  }
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (depth >= MAX_DEPTH && types.includes('null')) return null;
  const type = types.find((t) => t !== 'null') ?? (types[0] as string | undefined) ?? (schema.properties ? 'object' : schema.items ? 'array' : undefined);
  switch (type) {
    case 'string': {
      const text = (schema.format && FORMATS[schema.format]) ?? 'Paris';
      const min = Math.min(schema.minLength ?? 0, MAX_STRING);
      const padded = text.length >= min ? text : text + 'x'.repeat(min - text.length);
      return schema.maxLength !== undefined ? padded.slice(0, schema.maxLength) : padded;
    }
    case 'number':
    case 'integer': {
      const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : undefined);
      const value = low !== undefined ? Math.max(1, type === 'integer' ? Math.ceil(low) : low) : 1;
      return schema.maximum !== undefined ? Math.min(value, schema.maximum) : value;
    }
    case 'boolean':
      return true;
    case 'array':
      return depth >= MAX_DEPTH ? [] : Array.from({ length: Math.min(MAX_ITEMS, Math.max(1, schema.minItems ?? 1)) }, () => sampleOf(schema.items, root, depth + 1, budget));
    case 'null':
      return null;
    default: {
      const out: Record<string, unknown> = {};
      // Past the depth bound only what must be there is filled in.
      for (const [key, sub] of Object.entries(schema.properties ?? {})) {
        if (depth < MAX_DEPTH || schema.required?.includes(key)) out[key] = sampleOf(sub, root, depth + 1, budget);
      }
      return out;
    }
  }
}

/** A local reference: `#/$defs/Name`, `#/definitions/Name`, or `#` (the root). */
function resolve(ref: string, root: Schema | undefined): Schema | undefined {
  if (ref === '#') return root;
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  return m ? root?.[m[1] as '$defs' | 'definitions']?.[decodeURIComponent(m[2].replace(/~1/g, '/').replace(/~0/g, '~'))] : undefined;
}
