/**
 * Pure: whether a provider's model list (GET {base_url}/models) names the configured model, by the names
 * each service lists and the names its chat API also takes:
 *  - Gemini's OpenAI-compatible list names each model "models/<id>", and its chat completions take the bare
 *    id (Google's own examples send model "gemini-2.5-flash"; OpenCoworkAI/open-codesign#186 and
 *    EKKOLearnAI/hermes-studio#1510 strip the prefix the list returns to call the model).
 *  - Anthropic lists models before the 4.6 generation by dated id only (claude-haiku-4-5-20251001, as
 *    maruel/genai's recorded list of 2026-08-17 shows), while the API also takes their alias without the
 *    date ("claude-haiku-4-5", platform.claude.com, Model IDs and versioning).
 *  - OpenRouter takes the routing variants :nitro, :floor, :exacto (and the older :online) on any model
 *    and lists none of them; its catalog variants (:free, :thinking, :batch) are listed entries of their
 *    own (openrouter.ai, Model Variants).
 */
import { distance } from '../util/suggest.js';

const GEMINI_PREFIX = 'models/';
const OPENROUTER_ROUTING = /:(?:nitro|floor|exacto|online)$/;
const DATED = /^-\d{8}$/;

/** The listed id the configured model is served as, or undefined when the list does not name it. */
export function listedAs(model: string, ids: readonly string[]): string | undefined {
  const set = new Set(ids);
  const names = [model, ...(OPENROUTER_ROUTING.test(model) ? [model.replace(OPENROUTER_ROUTING, '')] : [])];
  for (const name of names) {
    if (set.has(name)) return name;
    if (set.has(GEMINI_PREFIX + name)) return GEMINI_PREFIX + name;
    if (name.startsWith(GEMINI_PREFIX) && set.has(name.slice(GEMINI_PREFIX.length))) return name.slice(GEMINI_PREFIX.length);
    const dated = ids.find((id) => id.startsWith(`${name}-`) && DATED.test(id.slice(name.length)));
    if (dated) return dated;
  }
  return undefined;
}

/** Up to `n` listed ids nearest the configured model (edit distance), as they would be configured: Gemini's without "models/". */
export function nearestListed(model: string, ids: readonly string[], n = 3): string[] {
  const bare = (id: string) => (!model.startsWith(GEMINI_PREFIX) && id.startsWith(GEMINI_PREFIX) ? id.slice(GEMINI_PREFIX.length) : id);
  const want = model.toLowerCase();
  return [...new Set(ids.map(bare))]
    .map((id) => ({ id, d: distance(want, id.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
    .slice(0, n)
    .map((x) => x.id);
}
