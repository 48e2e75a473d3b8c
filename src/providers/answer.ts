import { ProviderError } from './errors.js';

/**
 * A success must carry an answer: some content text that is not only whitespace, or a tool call. A stream
 * that ends with a finish reason but neither (a reply of blank lines, Magistral's typed parts read as nothing, a reasoning model whose max-tokens budget
 * went to thinking, a provider that answers with an empty message) is not an answer: every adapter turns
 * it into an `empty_response` error, so `ask` falls over and never caches it, `health` reports the
 * provider unhealthy and `bench` counts an error. A content-filter finish is left alone: it is a refusal.
 */
export interface AnswerSeen {
  contentChars: number;
  /** Some content character was not whitespace: "\n\n" alone is no answer. */
  visible: boolean;
  toolCalls: number;
  reasoningChars: number;
  /**
   * Reasoning tokens the usage reports. OpenAI's reasoning models never return their reasoning text, so a
   * budget spent on thinking shows only here (recorded: openai/genai-gpt-5.6-luna-length-hidden-reasoning.json).
   */
  reasoningTokens: number;
  /** What to try when the answer turns out empty, added to its message (think-tags.ts: an `open` reading that never saw `</think>`). */
  hint?: string;
}

export const nothingSeen = (): AnswerSeen => ({ contentChars: 0, visible: false, toolCalls: 0, reasoningChars: 0, reasoningTokens: 0 });

/** Counts a piece of content text. */
export function noteContent(seen: AnswerSeen, text: string): void {
  seen.contentChars += text.length;
  if (!seen.visible && /\S/.test(text)) seen.visible = true;
}

/** providerCode of an empty answer whose whole max-tokens budget went to reasoning. */
export const REASONING_BUDGET_SPENT = 'reasoning_budget_spent';

export function emptyAnswerError(provider: string, seen: AnswerSeen, rawFinish: string, finish: string): ProviderError | undefined {
  if (seen.visible || seen.toolCalls > 0 || finish === 'content_filter') return undefined;
  const budgetWentToReasoning = finish === 'length' && (seen.reasoningChars > 0 || seen.reasoningTokens > 0);
  const spent = seen.reasoningChars > 0 ? `${seen.reasoningChars} characters of it` : `${seen.reasoningTokens} reasoning tokens, whose text the provider does not return`;
  const why =
    budgetWentToReasoning
      ? `the max-tokens budget went to reasoning (${spent}) before any answer; raise max tokens`
      : seen.reasoningChars > 0
        ? `only reasoning (${seen.reasoningChars} characters) arrived`
        : seen.contentChars > 0
          ? `only whitespace (${seen.contentChars} characters) arrived`
          : 'no content and no tool call arrived';
  return new ProviderError({
    errorClass: 'empty_response',
    provider,
    status: 200,
    // Told apart by code: the model is alive and thinking, which `health` counts as healthy.
    providerCode: budgetWentToReasoning ? REASONING_BUDGET_SPENT : undefined,
    message: `${provider}: empty answer with finish_reason "${rawFinish}": ${why}${seen.hint ? `; ${seen.hint}` : ''}`,
  });
}
