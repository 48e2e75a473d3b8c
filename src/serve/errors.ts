/**
 * Error replies in each dialect's own envelope, so an official SDK raises its proper error class:
 * OpenAI `{ error: { message, type, param, code } }`, Anthropic `{ type: "error", error: { type, message } }`.
 */
import type { ServerResponse } from 'node:http';

export type Dialect = 'openai' | 'anthropic';

/** OpenAI's error `type` for a status, as its API sends it. */
function openaiType(status: number): string {
  if (status === 400 || status === 404 || status === 413 || status === 422) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** Anthropic's error `type` for a status (docs: errors). */
function anthropicType(status: number): string {
  if (status === 400 || status === 413 || status === 422) return status === 413 ? 'request_too_large' : 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status < 500) return 'invalid_request_error'; // e.g. 405: the client's request is wrong, not the server
  if (status === 504) return 'timeout_error';
  return status === 503 ? 'overloaded_error' : 'api_error';
}

export interface ErrorReply {
  status: number;
  message: string;
  /** OpenAI `code` (e.g. "model_not_found", "all_providers_unavailable"). */
  code?: string;
  param?: string;
  /** Extra response headers (Retry-After, x-llm-fallback-*). */
  headers?: Record<string, string>;
}

/** `requestId`: Anthropic's error body carries the request's id, as its `request-id` header does. */
export function errorBody(dialect: Dialect, e: ErrorReply, requestId?: string): Record<string, unknown> {
  return dialect === 'anthropic'
    ? { type: 'error', error: { type: anthropicType(e.status), message: e.message }, ...(requestId ? { request_id: requestId } : {}) }
    : { error: { message: e.message, type: openaiType(e.status), param: e.param ?? null, code: e.code ?? null } };
}

/** Sends an error reply (when headers are not yet sent; otherwise ends the response). */
export function sendError(res: ServerResponse, dialect: Dialect, e: ErrorReply): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const id = dialect === 'anthropic' ? res.getHeader('request-id') : undefined;
  const body = JSON.stringify(errorBody(dialect, e, typeof id === 'string' ? id : undefined));
  res.writeHead(e.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...e.headers });
  res.end(body);
}
