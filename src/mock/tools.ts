import type { Dialect } from './profile.js';
import type { Rng } from './random.js';
import type { ToolCall } from './wire.js';

/**
 * The emulator's answer to a request that offers tools: it calls the first one (unless tool_choice is
 * "none"), with arguments that fit the tool's JSON schema, so a client's tool-call path is exercised.
 */
export function toolCallFor(body: Record<string, unknown>, dialect: Dialect, rng: Rng): ToolCall | undefined {
  const tools = body.tools;
  const choice = body.tool_choice as string | { type?: string } | undefined;
  if (!Array.isArray(tools) || tools.length === 0 || choice === 'none' || (typeof choice === 'object' && choice?.type === 'none')) return undefined;
  // OpenAI: {type:"function", function:{name, parameters}}; Anthropic: {name, input_schema}.
  const first = tools[0] as { name?: string; input_schema?: unknown; function?: { name?: string; parameters?: unknown } };
  const name = first.function?.name ?? first.name ?? 'tool';
  const schema = (first.function?.parameters ?? first.input_schema) as Schema | undefined;
  const suffix = rng.int(1 << 30).toString(36);
  return { id: dialect === 'anthropic' ? `toolu_01${suffix}` : `call_${suffix}`, name, args: JSON.stringify(sampleOf(schema)) };
}

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  items?: Schema;
}

/** A value that satisfies the simple schemas tools use (objects, scalars, enums, arrays). */
function sampleOf(schema: Schema | undefined): unknown {
  if (!schema) return {};
  if (schema.enum?.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return 'Paris';
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [sampleOf(schema.items)];
    case 'null':
      return null;
    default: {
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(schema.properties ?? {})) out[key] = sampleOf(sub);
      return out;
    }
  }
}
