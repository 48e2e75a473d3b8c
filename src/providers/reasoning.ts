/**
 * One mapping between OpenAI's reasoning_effort and Anthropic's thinking budget, used wherever a request
 * set in one dialect's terms goes to a provider of the other.
 *
 * Effort to budget follows the table reasoning_effort maps to on Gemini 2.5 (low 1,024, medium 8,192, high
 * 24,576 thinking tokens), as Portkey's Gemini integration docs (Portkey-AI/docs-core, gemini.mdx) and
 * CLIProxyAPI's thinking guide (help.router-for.me/configuration/thinking) document it; the latter adds
 * xhigh 32,768. "minimal" is Anthropic's floor, 1,024: the Messages API takes no smaller budget. Budget to
 * effort is the same table read backwards: the highest level whose budget the given budget reaches, at most
 * "high" (xhigh is only taken by the newest OpenAI models, and a budget must not turn into a request older
 * ones refuse).
 */
import type { ReasoningEffort } from './types.js';

/**
 * Anthropic's rules for thinking.budget_tokens: at least 1024 and less than max_tokens (the @anthropic-ai/sdk
 * 1.14 ThinkingConfigEnabled doc, "Must be ≥1024 and less than `max_tokens`", from
 * platform.claude.com/docs/en/build-with-claude/extended-thinking).
 */
export const MIN_THINKING_BUDGET = 1024;

const BUDGETS: Record<Exclude<ReasoningEffort, 'none'>, number> = { minimal: MIN_THINKING_BUDGET, low: 1024, medium: 8192, high: 24_576, xhigh: 32_768 };

/** The thinking budget an effort stands for ("none": no thinking). */
export function budgetFor(effort: ReasoningEffort): number | undefined {
  return effort === 'none' ? undefined : BUDGETS[effort];
}

/** The effort a thinking budget stands for. */
export function effortFor(budgetTokens: number): ReasoningEffort {
  return budgetTokens >= BUDGETS.high ? 'high' : budgetTokens >= BUDGETS.medium ? 'medium' : 'low';
}

/**
 * How an Anthropic provider is sent reasoning: `budget` is thinking {"type":"enabled","budget_tokens":N},
 * `adaptive` is thinking {"type":"adaptive"} with output_config.effort (no token budget: Claude decides how
 * much to think). Both under anthropic-version 2023-06-01, no beta header (Bedrock's adaptive-thinking guide:
 * "No beta header is required").
 */
export type ThinkingForm = 'adaptive' | 'budget';

/** output_config.effort's levels (@anthropic-ai/sdk 1.14 OutputConfig) that an effort of ours is sent as. */
export type AdaptiveEffort = 'low' | 'medium' | 'high' | 'xhigh';

/**
 * An effort as output_config.effort: the same word, "minimal" (which the Messages API has not) its lowest,
 * low. "max" is never sent: no effort of ours asks for more than xhigh. xhigh is taken by Claude 4.7 and
 * later; the 4.6 models take low, medium, high and max (the Models API's capabilities as maruel/genai
 * recorded them in providers/anthropic/models.json).
 */
export function adaptiveEffortFor(effort: Exclude<ReasoningEffort, 'none'>): AdaptiveEffort {
  return effort === 'minimal' ? 'low' : effort;
}

/**
 * The version in a Claude model id: claude-opus-4-7, claude-sonnet-5, claude-haiku-4-5-20251001 (a trailing
 * date is not a minor), also as cloud and router ids spell them (anthropic.claude-opus-4-7,
 * claude-opus-4.7), and the older number-first ids (claude-3-7-sonnet-20250219). A name with no version
 * (claude-mythos-preview, an alias a gateway made up) has none.
 */
export function claudeVersion(model: string): { major: number; minor: number } | undefined {
  const m = /claude-[a-z]+-(\d{1,2})(?:[.-](\d{1,2}))?(?!\d)/i.exec(model) ?? /claude-(\d{1,2})(?:[.-](\d{1,2}))?-[a-z]/i.exec(model);
  return m ? { major: Number(m[1]), minor: m[2] === undefined ? 0 : Number(m[2]) } : undefined;
}

/**
 * Whether a model takes only adaptive thinking and answers a budget with a 400. Anthropic's
 * thinking-troubleshooting page (platform.claude.com/docs/en/build-with-claude/thinking-troubleshooting):
 * extended thinking is "deprecated on the Claude 4.6 models (requests using it still succeed). Claude 4.7
 * and later models do not support it and reject requests that use it, returning a 400 error", while
 * "Claude Mythos Preview supports both modes" (it has no version number, so it stays with budgets here).
 */
export function adaptiveOnly(model: string): boolean {
  const v = claudeVersion(model);
  return v !== undefined && (v.major > 4 || (v.major === 4 && v.minor >= 7));
}

/** Whether a model takes adaptive thinking at all: the errors page says Claude 4.5 and earlier refuse it. Unknown names might. */
export function takesAdaptive(model: string): boolean {
  const v = claudeVersion(model);
  return v === undefined || v.major > 4 || (v.major === 4 && v.minor >= 6);
}

/** A provider's thinking form when its config sets none: adaptive where the model takes nothing else. */
export function defaultThinkingForm(model: string): ThinkingForm {
  return adaptiveOnly(model) ? 'adaptive' : 'budget';
}
