import { estimatePromptTokens } from '../util/tokens.js';

/**
 * The prompt's size in tokens as the emulator bills it: the chain's estimate (util/tokens) over the text the
 * request carries. The services count the text of a content block, not the JSON around it, so a prompt sent
 * as blocks (`[{"type":"text","text":"..."}]`, which the Vercel AI SDK sends for Anthropic's `system` and
 * messages) is billed as the same prompt sent as strings, and a block-form `system` is billed at all. A
 * part without text (an image, a tool call) counts as its JSON.
 */
export function billedPromptTokens(system: unknown, messages: { content?: unknown }[]): number {
  return estimatePromptTokens(
    messages.map((m) => ({ content: wireText(m.content) })),
    system === undefined || system === null ? 0 : wireText(system).length,
  );
}

/** A content field's text: a string as it is, a list of parts as their texts (a tool result's own content included). */
function wireText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return JSON.stringify(content ?? '');
  return content
    .map((part: unknown) => {
      const p = part as { type?: unknown; text?: unknown; content?: unknown } | null;
      if (p && typeof p.text === 'string' && (p.type === 'text' || p.type === undefined)) return p.text;
      if (p && p.type === 'tool_result' && p.content !== undefined) return wireText(p.content);
      return JSON.stringify(part ?? '');
    })
    .join('');
}
