/**
 * Reasoning written into the answer text between `<think>` and `</think>`, as models served without a
 * reasoning parser send it: MiniMax-M2.x on its OpenAI-compatible endpoint unless asked for
 * `reasoning_split` (recorded: minimax/gomodel-prod-m27-stream.sse, minimax/gomodel-prod-m2-length.json),
 * DeepSeek-R1 and Qwen3 on vLLM, SGLang or llama.cpp without one (recorded by maruel/genai: Qwen3 on Groq and the
 * Hugging Face router, Perplexity's sonar-reasoning-pro; test/fixtures/wire/index.json). Left in the content, the chain of thought
 * would be printed and cached as the answer, and an answer that never got past its thinking would pass for one.
 *
 * providers.yaml `think_tags` (api: openai) says how the content is read:
 * - `leading` (default): a `<think>` block at the very start of the content (after blank space) is reasoning,
 *   the text after `</think>` the answer. A `<think>` anywhere else is the answer's own text.
 * - `open`: the content starts inside the thinking, because the model's chat template opened `<think>` in the
 *   prompt (DeepSeek-R1 distills, QwQ, Qwen3-235B-A22B-Thinking-2507 as Cerebras and Together served it:
 *   cerebras/ and together/genai-qwen3-235b-thinking-2507-open.*): everything before the first `</think>` is reasoning.
 *   The default for Qwen3's Thinking-2507 models, whose model card says their template always opens the block
 *   (defaultThinkTags). A server that parses the thinking out itself sends it in a field of its own first
 *   (reasoning_content): seen before any content, it shows the content is the answer (structuredReasoning).
 * - `off`: the content is the answer, tags and all.
 *
 * The text comes in pieces and a tag may be split across two of them (`<thi` + `nk>`), so a piece that might
 * be the start of a tag is held back until the next one shows what it is (or the stream ends). Blank space
 * before the tag is not held: a model's first token is often a newline, and holding it would move the time
 * to first token to the piece after it.
 */
export const THINK_TAG_MODES = ['leading', 'open', 'off'] as const;

export type ThinkTags = (typeof THINK_TAG_MODES)[number];

/**
 * think_tags when providers.yaml does not set it: `open` for Qwen3's Thinking-2507 models (Qwen3-235B-A22B-,
 * Qwen3-30B-A3B-, Qwen3-4B-Thinking-2507, under any host's spelling: qwen-3-235b-a22b-thinking-2507 on
 * Cerebras), whose chat template "automatically includes <think>", so that "it is normal for the model's output
 * to contain only </think>" (their Hugging Face model cards; recorded on Cerebras and Together), else `leading`.
 */
export function defaultThinkTags(model: string): ThinkTags {
  return /thinking-2507/i.test(model) ? 'open' : 'leading';
}

const OPEN = '<think>';
const CLOSE = '</think>';

/** Where the splitter is: before anything that decides, inside the thinking, just after it, or in the answer. */
type State = 'start' | 'thinking' | 'after' | 'answer';

export interface SplitText {
  reasoning: string;
  content: string;
}

export class ThinkTagSplitter {
  private state: State = 'start';
  /** Text held back: a partial `<think>` at the start, a partial `</think>` while thinking. */
  private held = '';

  constructor(private mode: Exclude<ThinkTags, 'off'>) {}

  /** How the content is being read (`open` turns `leading` once the server shows it parses the thinking itself). */
  get reading(): Exclude<ThinkTags, 'off'> {
    return this.mode;
  }

  /**
   * The server sent reasoning in a field of its own. Before any content, that means it parsed the thinking out
   * of the text, so the content to come is the answer: an `open` reading would take all of it for thinking.
   */
  structuredReasoning(): void {
    if (this.state === 'start' && this.held === '') this.mode = 'leading';
  }

  /** The text so far ended inside the thinking: some was read as thinking and no `</think>` closed it. */
  get inThinking(): boolean {
    return this.state === 'thinking';
  }

  /** The reasoning and answer text in `text`, as far as they can be told apart yet. */
  push(text: string): SplitText {
    const out: SplitText = { reasoning: '', content: '' };
    this.take(text, out);
    return out;
  }

  /** A whole content (a non-streamed answer): push and flush in one. */
  whole(text: string): SplitText {
    const a = this.push(text);
    const b = this.flush();
    return { reasoning: a.reasoning + b.reasoning, content: a.content + b.content };
  }

  /** The end of the content: what was held back is what it looked like so far. */
  flush(): SplitText {
    const out: SplitText = { reasoning: '', content: '' };
    const held = this.held;
    this.held = '';
    if (this.state === 'thinking') out.reasoning = held;
    else if (this.state === 'start') {
      if (this.mode === 'open') out.reasoning = held;
      else out.content = held;
    }
    return out;
  }

  private take(text: string, out: SplitText): void {
    if (this.state === 'answer') {
      out.content += text;
      return;
    }
    if (this.state === 'start') {
      const seen = this.held + text;
      const lead = seen.trimStart();
      // Blank space before anything is passed on at once (as answer, or as thinking where the content starts in it).
      const blank = seen.slice(0, seen.length - lead.length);
      if (this.mode === 'open') out.reasoning += blank;
      else out.content += blank;
      // The start of an opening tag: what it is shows in a later piece.
      if (lead.length < OPEN.length && OPEN.startsWith(lead)) {
        this.held = lead;
        return;
      }
      this.held = '';
      if (lead.startsWith(OPEN)) {
        this.state = 'thinking';
        return this.take(lead.slice(OPEN.length), out);
      }
      if (this.mode === 'open') {
        this.state = 'thinking';
        return this.take(lead, out);
      }
      this.state = 'answer';
      out.content += lead;
      return;
    }
    if (this.state === 'thinking') {
      const seen = this.held + text;
      const end = seen.indexOf(CLOSE);
      if (end >= 0) {
        this.held = '';
        out.reasoning += seen.slice(0, end);
        this.state = 'after';
        return this.take(seen.slice(end + CLOSE.length), out);
      }
      const keep = partialSuffix(seen, CLOSE);
      this.held = seen.slice(seen.length - keep);
      out.reasoning += seen.slice(0, seen.length - keep);
      return;
    }
    // After </think>: the blank lines that part the thinking from the answer are neither.
    const answer = text.trimStart();
    if (answer === '') return;
    this.state = 'answer';
    out.content += answer;
  }
}

/** The length of the longest end of `text` that is the start of `tag` (a tag the next piece may complete). */
function partialSuffix(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}

/** A whole (non-streamed) content: the reasoning inside its tags and the answer after them. */
export function splitThinkTags(text: string, mode: ThinkTags): SplitText {
  return mode === 'off' ? { reasoning: '', content: text } : new ThinkTagSplitter(mode).whole(text);
}
