import { ProviderError, type ErrorClass } from './errors.js';
import { retryAfterMs } from './retry-after.js';
import { serverText } from '../util/redact.js';
import { describeHtmlPage, isHtmlPage } from './html-page.js';

/**
 * What we could read out of any provider's error body. The envelopes differ (see README "Error
 * classes"): OpenAI {error:{message,type,code}}, Anthropic {type:"error",error:{type,message}},
 * Gemini [{error:{code,message,status}}], vLLM {object:"error",message,type,code}, Ollama {error:"..."},
 * OpenRouter {error:{code:<number>,message,metadata}}, MiniMax native {base_resp:{status_code,status_msg}}.
 */
export interface ErrorBody {
  message?: string;
  type?: string;
  code?: string;
  status?: string;
  /** Google quota ids from a QuotaFailure detail, e.g. "GenerateRequestsPerMinutePerProjectPerModel-FreeTier". */
  quotaIds?: string[];
  /** How long the body asks to wait: Google's RetryInfo.retryDelay, else "Please retry in 45.2s" in the message. */
  retryDelayMs?: number;
  /** The failure came as MiniMax's base_resp (HTTP 200 on its native and some compatible endpoints). */
  minimaxBaseResp?: boolean;
}

export function readErrorBody(body: unknown): ErrorBody | undefined {
  if (Array.isArray(body)) return body.length > 0 ? readErrorBody(body[0]) : undefined;
  if (!body || typeof body !== 'object') return undefined;
  const o = body as Record<string, unknown>;
  const err = o.error;
  if (typeof err === 'string') return { message: err };
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    // Gemini's OpenAI-compatible endpoint puts Google's whole error JSON, as a string, in error.message
    // (and "Too Many Requests" in error.status): read the inner one, which has the status and quota details.
    const inner = typeof e.message === 'string' && e.message.trimStart().startsWith('{') ? readErrorBody(parseJson(e.message)) : undefined;
    if (inner) return inner;
    const details = e.details && typeof e.details === 'object' && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : undefined;
    const out: ErrorBody = {
      message: str(e.message),
      type: str(e.type),
      code: str(details?.error_code) ?? str(e.code),
      status: str(e.status),
    };
    if (Array.isArray(e.details)) readGoogleDetails(e.details, out);
    const retryIn = /Please retry in (\d+(?:\.\d+)?)s/.exec(out.message ?? '');
    if (out.retryDelayMs === undefined && retryIn) out.retryDelayMs = Math.round(Number(retryIn[1]) * 1000);
    return out;
  }
  if (o.object === 'error') return { message: str(o.message), type: str(o.type), code: str(o.code) };
  const base = o.base_resp as Record<string, unknown> | undefined;
  if (base && typeof base === 'object' && base.status_code !== undefined && Number(base.status_code) !== 0) {
    return { message: `${str(base.status_msg) || 'error'} (${String(base.status_code)})`, code: String(base.status_code), minimaxBaseResp: true };
  }
  return undefined;
}

/** google.rpc details: QuotaFailure violations (quota ids) and RetryInfo ("26s", "2.463586755s"). */
function readGoogleDetails(details: unknown[], out: ErrorBody): void {
  for (const d of details) {
    if (!d || typeof d !== 'object') continue;
    const o = d as Record<string, unknown>;
    if (Array.isArray(o.violations)) {
      for (const v of o.violations) {
        const id = v && typeof v === 'object' ? str((v as Record<string, unknown>).quotaId) : undefined;
        if (id) (out.quotaIds ??= []).push(id);
      }
    }
    const delay = typeof o.retryDelay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(o.retryDelay.trim()) : null;
    if (delay) out.retryDelayMs = Math.round(Number(delay[1]) * 1000);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** MiniMax native `base_resp.status_code` values. They are not HTTP statuses (1008 is billing, not a 5xx). */
const MINIMAX_CODES: Record<string, ErrorClass> = {
  '1000': 'server',
  '1001': 'timeout',
  '1002': 'rate_limit',
  '1004': 'auth',
  '1008': 'billing',
  '1013': 'server',
  '1024': 'server',
  '1026': 'content_filter',
  '1027': 'content_filter',
  '1033': 'server',
  '1039': 'context_length',
  '1041': 'rate_limit',
  '2013': 'bad_request',
  '2049': 'auth',
  // "your current token plan not support model": the key's plan does not include this model (seen live
  // on Coding Plan keys); only another plan or another provider helps.
  '2061': 'billing',
};

/**
 * Maps a status plus body onto the taxonomy. The body's type/code/message decides before the status
 * does, because statuses lie: OpenAI's 429 can be billing, Moonshot's 429 can be overload, MiniMax's
 * 500 can be billing.
 */
export function classifyError(status: number, body: ErrorBody | undefined): ErrorClass {
  const type = (body?.type ?? '').toLowerCase();
  const code = (body?.code ?? '').toLowerCase();
  const gstatus = (body?.status ?? '').toUpperCase();
  const msg = (body?.message ?? '').toLowerCase();
  const all = `${type} ${code} ${msg}`;

  const mm = /\((\d{4})\)\s*$/.exec(body?.message ?? '')?.[1] ?? (/^\d{4}$/.test(code) ? code : undefined);
  if (mm && MINIMAX_CODES[mm]) return MINIMAX_CODES[mm];
  // A base_resp code outside the table says nothing about being transient: never retry it blindly.
  if (body?.minimaxBaseResp) return 'bad_request';

  // Google's RESOURCE_EXHAUSTED says "check your plan and billing details" for per-minute and per-day quotas
  // too, so the status and quota ids decide, not that wording: a quota of 0 (a model outside the free
  // tier) cannot be waited out and is billing; any other exhausted quota is a rate limit.
  if (gstatus === 'RESOURCE_EXHAUSTED') return /\blimit: 0\b/.test(msg) ? 'billing' : 'rate_limit';

  if (/insufficient_quota|exceeded_current_quota|billing|insufficient (balance|credits?)|enforced_spend_limit|check your plan and billing|credit balance/.test(all)) return 'billing';
  if (status === 402) return 'billing';
  if (/context_length|context length|context size|context window|maximum context|too many tokens|exceed_context_size|prompt is too long|token limit|input token count|maximum number of tokens/.test(all) || status === 413) return 'context_length';
  if (/content[_ ]filter|content_policy|content management policy|moderation|sensitive|safety|content exists risk|high risk/.test(all)) return 'content_filter';
  if (/overloaded|engine_overloaded|unavailable/.test(`${type} ${code}`) || gstatus === 'UNAVAILABLE' || /overloaded/.test(msg)) return 'overloaded';
  if (status === 529 || status === 503) return 'overloaded';
  if (/rate_limit|rate limit|too many requests/.test(all) || gstatus === 'RESOURCE_EXHAUSTED' || status === 429) return 'rate_limit';
  if (/authentication|invalid_api_key|invalid api key|api key not valid|x-api-key|unauthori[sz]ed|permission|authorized_error|login fail/.test(all) || status === 401 || status === 403) return 'auth';
  if (status >= 500 || /server_error|api_error|internal/.test(`${type} ${code}`)) return 'server';
  if (status >= 400) return 'bad_request';
  return 'server';
}

/** Builds the ProviderError for an HTTP error response (or an error object that came inside a 200 stream). */
export function httpError(provider: string, status: number, headers: Record<string, string>, bodyText: string): ProviderError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  const body = readErrorBody(parsed);
  const errorClass = classifyError(status, body);
  // Redact before cutting: a cut first could leave half a key behind (see util/redact.ts). A proxy's HTML
  // error page (nginx's 502/504) is named by its title, not dumped.
  const snippet = body?.message ?? (isHtmlPage(bodyText, headers['content-type']) ? describeHtmlPage(bodyText, headers.server) : serverText(bodyText, 300));
  // Gemini sends no Retry-After header: its body's RetryInfo (or "Please retry in 45.2s") says how long.
  const retryAfter = retryAfterMs(headers, Date.now(), body?.retryDelayMs);
  const shouldRetry = headers['x-should-retry'];
  let retryable: boolean | undefined;
  if (shouldRetry === 'true') retryable = true;
  else if (shouldRetry === 'false') retryable = false;
  // OpenRouter asks callers to retry a 402 only when it sent Retry-After (in-flight budget).
  if (errorClass === 'billing' && status === 402 && retryAfter !== undefined && retryable === undefined) retryable = true;
  const where = status === 200 ? 'error inside a 200 response' : `HTTP ${status}`;
  return new ProviderError({
    errorClass,
    provider,
    status,
    headers,
    retryAfterMs: retryAfter,
    retryable,
    providerCode: body?.code ?? body?.type ?? body?.status,
    message: `${provider}: ${where}: ${snippet || '(empty body)'}`,
  });
}
