/**
 * Token estimates for when a server reports no usage (and for sizing prompts before sending them):
 * four characters a token plus a few tokens of per-message overhead. Figures built on this are labelled
 * "estimated" wherever they are shown.
 */
export function estimatePromptTokens(messages: { content?: unknown }[], extraChars = 0): number {
  let chars = extraChars;
  for (const m of messages) chars += typeof m.content === 'string' ? m.content.length : JSON.stringify(m.content ?? '').length;
  return Math.ceil(chars / 4) + 4 * messages.length;
}

export function estimateTextTokens(chars: number): number {
  return Math.ceil(chars / 4);
}
