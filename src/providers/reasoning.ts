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
