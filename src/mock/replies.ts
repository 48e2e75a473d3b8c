import { STATUS_CODES } from 'node:http';
import type { Dialect } from './profile.js';
import { toolChoiceProblem } from './tools.js';
import { adaptiveOnly, alwaysThinks, claudeVersion, reasonsNot, takesAdaptive } from '../providers/reasoning.js';
import { an, errorReply, gm, ms, oa, or, type ErrorReply } from './wire.js';

/**
 * Error answers that are not one of the fault classes: a `status` fault's body for any code, and the
 * real services' answers to requests they reject (unknown model, missing field). Each in the dialect's
 * own envelope and error type (docs/providers.md: OpenAI §1, Anthropic §5a, Gemini §6).
 */

/** Anthropic's error type per status (Messages API error table). */
const ANTHROPIC_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** google.rpc status names for HTTP codes (Gemini's error bodies carry them). */
const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** OpenAI's error type per status where it is not the generic invalid_request_error. */
const OPENAI_TYPE: Record<number, string> = { 403: 'request_forbidden' };
/** Moonshot's error type per status. */
const MOONSHOT_TYPE: Record<number, string> = { 403: 'permission_denied_error', 404: 'resource_not_found_error' };

/** The body a `status` fault sends: 401/402/429 and 5xx as the matching fault class, any other code in the dialect's envelope with that code's error type. */
export function statusReply(dialect: Dialect, status: number, message?: string): ErrorReply {
  // Anthropic's 402 is its error table's billing_error (its out-of-credit answer, the billing fault, is a 400).
  const cls = status === 401 ? 'auth' : status === 402 && dialect !== 'anthropic' ? 'billing' : status === 429 ? 'rate_limit' : status === 503 || status === 529 ? 'overloaded' : status >= 500 && status !== 504 ? 'server' : undefined;
  if (cls) return { ...errorReply(dialect, cls, { message, key: '****' }), status };
  return errorBody(dialect, status, message ?? STATUS_CODES[status] ?? `HTTP ${status}`);
}

/** An error body for `status` in the dialect's envelope, typed as that provider types that status. */
export function errorBody(dialect: Dialect, status: number, message: string, openaiCode: string | null = null, openaiParam: string | null = null): ErrorReply {
  switch (dialect) {
    case 'anthropic':
      return an(status, ANTHROPIC_TYPE[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message);
    case 'gemini':
      return gm(status, message, GOOGLE_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'));
    case 'moonshot':
      return ms(status, message, MOONSHOT_TYPE[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'));
    case 'openrouter':
      return or(status, message);
    default:
      return oa(status, message, OPENAI_TYPE[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'), openaiCode, openaiParam);
  }
}

/** A request for a model the provider does not serve. */
export function unknownModel(dialect: Dialect, model: string): ErrorReply {
  switch (dialect) {
    case 'anthropic':
      return errorBody(dialect, 404, `model: ${model}`);
    case 'gemini':
      return errorBody(dialect, 404, `models/${model} is not found for API version v1main, or is not supported for generateContent.`);
    case 'deepseek':
      return errorBody(dialect, 400, 'Model Not Exist');
    case 'moonshot':
      return errorBody(dialect, 404, `Not found the model ${model} or Permission denied`);
    case 'openrouter':
      return errorBody(dialect, 400, `${model} is not a valid model ID`);
    default:
      return errorBody(dialect, 404, `The model \`${model}\` does not exist or you do not have access to it.`, 'model_not_found');
  }
}

/** A required request field that is missing, as the service words it. */
export function missingField(dialect: Dialect, field: string): ErrorReply {
  if (dialect === 'anthropic') return errorBody(dialect, 400, `${field}: Field required`);
  return errorBody(dialect, 400, `you must provide a ${field} parameter`, null);
}

/**
 * A request the service itself refuses with a 400 before any model runs, in its words (OpenAI's and
 * Anthropic's; the other dialects' services are more lenient and are not second-guessed): out-of-range
 * temperature, no messages, a "system" message role on Anthropic, a thinking budget not below max_tokens on
 * Anthropic (or thinking beside a temperature other than 1 or a top_k), a thinking budget to a Claude that
 * takes only adaptive thinking and adaptive thinking to one that takes none, thinking turned off for a Claude
 * that always thinks, effort xhigh to Claude 4.6, reasoning_effort to an OpenAI model that does not reason,
 * stream_options without stream, a tool_choice naming a tool the request does not offer. A client tested against the emulator then meets
 * these before production does.
 */
export function requestProblem(body: Record<string, unknown>, dialect: Dialect): { message: string; param: string | null } | undefined {
  if (dialect !== 'openai' && dialect !== 'anthropic') return undefined;
  const messages = body.messages;
  if (Array.isArray(messages) && messages.length === 0) {
    return dialect === 'anthropic'
      ? { message: 'messages: at least one message is required', param: 'messages' }
      : { message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", param: 'messages' };
  }
  const top = dialect === 'anthropic' ? 1 : 2;
  const t = body.temperature;
  if (typeof t === 'number' && (t < 0 || t > top)) {
    return dialect === 'anthropic'
      ? { message: `temperature: Input should be less than or equal to ${top}`, param: 'temperature' }
      : { message: `Invalid 'temperature': decimal above maximum value. Expected a value <= ${top}, but got ${t} instead.`, param: 'temperature' };
  }
  if (dialect === 'anthropic' && Array.isArray(messages)) {
    const i = messages.findIndex((m) => (m as { role?: unknown })?.role === 'system');
    if (i >= 0) return { message: `messages.${i}.role: Unexpected role "system". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`, param: 'messages' };
  }
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | undefined;
  const model = typeof body.model === 'string' ? body.model : '';
  // Claude 4.7 and later refuse a budget, 4.5 and earlier refuse adaptive thinking (reasoning.ts), in the
  // words of Anthropic's errors page (platform.claude.com/docs/en/api/errors, retrieved 2026-09-24); the
  // first is also the 400 body Anthropic's Agent SDK quickstart shows for claude-opus-4-7
  // (code.claude.com/docs/*/agent-sdk/quickstart) and the one Bedrock users met (awsl-project/maxx).
  if (dialect === 'anthropic' && thinking?.type === 'enabled' && adaptiveOnly(model)) {
    return { message: '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.', param: 'thinking' };
  }
  if (dialect === 'anthropic' && thinking?.type === 'adaptive' && !takesAdaptive(model)) return { message: 'adaptive thinking is not supported on this model', param: 'thinking' };
  // Claude Fable and Mythos always think (reasoning.ts alwaysThinks): the 400 as recorded against claude-fable-5
  // and claude-mythos-5 in ex-machina-co/opencode-anthropic-auth#159, quoted the same in BerriAI/litellm#37510.
  if (dialect === 'anthropic' && thinking?.type === 'disabled' && alwaysThinks(model)) {
    return { message: '"thinking.type.disabled" is not supported for this model. Thinking defaults to adaptive mode when not specified; use "thinking.type.enabled" with "budget_tokens" for extended thinking.', param: 'thinking' };
  }
  const effort = (body.output_config as { effort?: unknown } | undefined)?.effort;
  const version = claudeVersion(model);
  if (dialect === 'anthropic' && effort === 'xhigh' && version?.major === 4 && version.minor <= 6) {
    // The 4.6 models' recorded capabilities have no xhigh (maruel/genai providers/anthropic/models.json). No
    // recording of the API's words for it was found: this wording is the emulator's own.
    return { message: `output_config.effort: "xhigh" is not supported for this model (emulator's wording; no recorded 400)`, param: 'output_config' };
  }
  if (dialect === 'anthropic' && thinking?.type === 'enabled') {
    if (typeof thinking.budget_tokens === 'number' && typeof body.max_tokens === 'number' && thinking.budget_tokens >= body.max_tokens) {
      // The API's own words, as relayed in anthropics/claude-code#8756 (a real 400 from Claude Sonnet 4.5).
      return { message: '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size', param: 'max_tokens' };
    }
    // While thinking is on, in the API's words: temperature as relayed in MartialBE/one-hub#529 and
    // egoist/chatwise-releases#1348, top_k as recorded in quarkiverse/quarkus-langchain4j#1812 (a 400 from
    // Claude Opus 4.1). (top_p below 0.95 is refused too, but no recording gives its wording.)
    const considerations = 'Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking';
    if (body.temperature !== undefined && body.temperature !== null && body.temperature !== 1) return { message: `\`temperature\` may only be set to 1 when thinking is enabled. ${considerations}`, param: 'temperature' };
    if (body.top_k !== undefined && body.top_k !== null) return { message: `\`top_k\` must be unset when thinking is enabled. ${considerations}`, param: 'top_k' };
  }
  if (dialect === 'openai' && body.reasoning_effort !== undefined && body.reasoning_effort !== null && reasonsNot(model)) {
    // OpenAI's chat models from before reasoning (reasoning.ts reasonsNot): the whole body as recorded for
    // gpt-4o-mini in davidmigloz/langchain_dart#712, param and code null.
    return { message: 'Unrecognized request argument supplied: reasoning_effort', param: null };
  }
  if (dialect === 'openai' && body.stream_options !== undefined && body.stream_options !== null && body.stream !== true) {
    return { message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param: 'stream_options' };
  }
  if (dialect === 'openai' && typeof body.n === 'number' && body.n > 1) {
    // Refused rather than answered with one choice: a client asking for several must not pass against the emulator and fail against the service.
    return { message: `emulator: n = ${body.n} is not emulated (it answers one choice); test n > 1 against the service, or leave n out`, param: 'n' };
  }
  const tool = toolChoiceProblem(body, dialect);
  if (tool) return { message: tool, param: 'tool_choice' };
  return undefined;
}
