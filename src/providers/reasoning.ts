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
 * ones refuse). Each dialect's own levels, and the models that take fewer, are below.
 */
import type { ReasoningEffort } from './types.js';

/**
 * Anthropic's rules for thinking.budget_tokens: at least 1024 and less than max_tokens (the @anthropic-ai/sdk
 * 1.14 ThinkingConfigEnabled doc, "Must be ≥1024 and less than `max_tokens`", from
 * platform.claude.com/docs/en/build-with-claude/extended-thinking).
 */
export const MIN_THINKING_BUDGET = 1024;

// "max" (Anthropic's effort without a limit on thinking) has no budget of its own: the table's highest.
const BUDGETS: Record<Exclude<ReasoningEffort, 'none'>, number> = { minimal: MIN_THINKING_BUDGET, low: 1024, medium: 8192, high: 24_576, xhigh: 32_768, max: 32_768 };

/** The thinking budget an effort stands for ("none": no thinking). */
export function budgetFor(effort: ReasoningEffort): number | undefined {
  return effort === 'none' ? undefined : BUDGETS[effort];
}

/** The effort a thinking budget stands for. */
export function effortFor(budgetTokens: number): ReasoningEffort {
  return budgetTokens >= BUDGETS.high ? 'high' : budgetTokens >= BUDGETS.medium ? 'medium' : 'low';
}

/**
 * How a provider is sent reasoning. Anthropic: `budget` is thinking {"type":"enabled","budget_tokens":N},
 * `adaptive` is thinking {"type":"adaptive"} with output_config.effort (no token budget: Claude decides how
 * much to think), both under anthropic-version 2023-06-01, no beta header (Bedrock's adaptive-thinking guide:
 * "No beta header is required"). OpenAI dialect: `effort` is reasoning_effort. Either: `none`, the model does
 * not reason, so nothing is sent and a request asking for reasoning is refused before any call.
 */
export type ThinkingForm = 'adaptive' | 'budget' | 'effort' | 'none';

/** output_config.effort's levels (@anthropic-ai/sdk 1.14 OutputConfig). */
export type AdaptiveEffort = 'low' | 'medium' | 'high' | 'xhigh' | 'max';

/**
 * An effort as output_config.effort for `model`: the same word, "minimal" (which the Messages API has not)
 * its lowest, low. The 4.6 models take low, medium, high and max but not xhigh, which came with 4.7 (the
 * Models API's capabilities as maruel/genai recorded them in providers/anthropic/models.json, 2026-07-24):
 * xhigh goes to them as max, the level they have next to it, as the Vercel AI SDK's Anthropic provider
 * sends it to models without xhigh (resolveAnthropicReasoningConfig, vercel/ai ed857f5).
 */
export function adaptiveEffortFor(effort: Exclude<ReasoningEffort, 'none'>, model: string): AdaptiveEffort {
  if (effort === 'minimal') return 'low';
  const v = claudeVersion(model);
  return effort === 'xhigh' && v?.major === 4 && v.minor === 6 ? 'max' : effort;
}

/**
 * An effort as OpenAI's reasoning_effort: the same word, but "max", which reasoning_effort has not (openai SDK
 * 6.30 ReasoningEffort: none, minimal, low, medium, high, xhigh), goes as its highest, xhigh.
 */
export function openaiEffortFor(effort: ReasoningEffort): Exclude<ReasoningEffort, 'max'> {
  return effort === 'max' ? 'xhigh' : effort;
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

/**
 * Whether a Claude always thinks and answers thinking {"type":"disabled"} with a 400: Claude Fable and Mythos
 * (claude-fable-5, claude-mythos-5, claude-mythos-preview in maruel/genai's providers/anthropic/client.go
 * modelCanDisableThinking, which notes the Models API does not report it; the same prefixes in
 * ex-machina-co/opencode-anthropic-auth#160, after the 400 recorded in its #159).
 */
export function alwaysThinks(model: string): boolean {
  return /claude-(?:fable|mythos)(?![a-z])/i.test(model);
}

/**
 * Whether an OpenAI-dialect model is one of OpenAI's chat models from before reasoning (gpt-3.5, gpt-4,
 * gpt-4o, gpt-4.1, gpt-4.5, chatgpt-4o; also as a router names them, openai/gpt-4o): reasoning_effort is for
 * reasoning models (openai SDK 6.30 ReasoningEffort doc), and these answer it with a 400, "Unrecognized
 * request argument supplied: reasoning_effort" (recorded for gpt-4o-mini in davidmigloz/langchain_dart#712,
 * for gpt-4.1 in formulahendry/wechat-acp#16).
 */
export function reasonsNot(model: string): boolean {
  return /^(?:gpt-3\.5|gpt-4|chatgpt-4o)/i.test(model.slice(model.lastIndexOf('/') + 1));
}

/**
 * Whether a model is MiniMax-M3, which MiniMax's Anthropic-compatible API lets think only as
 * {"type":"adaptive"} or not at all ({"type":"disabled"}, or no thinking field): its docs
 * (platform.minimax.io/docs/api-reference/text-anthropic-api, as quoted in earendil-works/pi#6658 and
 * anomalyco/opencode#38149) say "For MiniMax-M3, adaptive is equivalent to thinking on", and a budget sent to
 * it was refused or its reasoning came back as answer text (pi#6658); adaptive with output_config.effort was
 * live-checked accepted (NousResearch/hermes-agent#42097). Its M2.x models keep budgets (the same PR;
 * can1357/oh-my-pi#2928: no adaptive for the M2 family there).
 */
export function minimaxM3(model: string): boolean {
  return /minimax-m3(?![\d.])/i.test(model);
}

/** Whether a model takes thinking only in the adaptive form: Claude 4.7 and later, MiniMax-M3. */
export function takesOnlyAdaptive(model: string): boolean {
  return adaptiveOnly(model) || minimaxM3(model);
}

/** An Anthropic provider's thinking form when its config sets none: adaptive where the model takes nothing else. */
export function defaultThinkingForm(model: string): ThinkingForm {
  return takesOnlyAdaptive(model) ? 'adaptive' : 'budget';
}

/** An OpenAI-dialect provider's form when its config sets none: no reasoning for a model known not to reason. */
export function defaultEffortForm(model: string): ThinkingForm {
  return reasonsNot(model) ? 'none' : 'effort';
}
