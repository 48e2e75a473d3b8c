import type { Rng } from '../../mock/random.js';
import type { Tokenizer } from './tokenizer.js';

/*
 * Plain English sentences from small word lists, chosen by a seeded generator: real words in a real order
 * tokenize as prompts do (a run of one repeated token merges and splits in ways no prompt does), and the same
 * seed gives the same text. Every word is a separate piece with its leading space, so the token count of a
 * text is (nearly) the sum of its pieces' counts; the final count is always checked by encoding the whole.
 */
const SUBJECTS = ['the engineer', 'a small team', 'the old library', 'our customer', 'the river', 'a quiet village', 'the research group', 'the city council', 'a young doctor', 'the night train', 'the committee', 'a local farmer', 'the museum', 'every student', 'the new system', 'a careful reader'];
const VERBS = ['describes', 'measures', 'follows', 'changes', 'explains', 'builds', 'studies', 'protects', 'remembers', 'questions', 'carries', 'compares', 'records', 'improves', 'reviews', 'plans'];
const OBJECTS = ['the history of the region', 'a simple plan for the winter', 'the cost of every repair', 'the long road to the coast', 'several reports from last year', 'the weather over the hills', 'a list of open questions', 'the price of fresh bread', 'the results of the first test', 'an idea that seemed strange', 'the rules of the old game', 'the sound of distant bells', 'a map of the northern valley', 'the work of many hands'];
const TAILS = ['before the end of the week', 'with great patience', 'in the early morning', 'while the market was closed', 'after a long discussion', 'for the people who live nearby', 'without any extra help', 'because the season had changed', 'as the light began to fade', 'under a clear and open sky'];

/** Words of one token in every supported encoding, used to make up an exact count at the end. */
const FILLERS = [' and', ' then', ' so', ' now', ' still', ' also', ' more', ' here'];

export class TextSynth {
  private readonly cost = new Map<string, number>();

  constructor(private readonly tokenizer: Tokenizer) {}

  count(text: string): number {
    return this.tokenizer.count(text);
  }

  private pieceCost(piece: string): number {
    let c = this.cost.get(piece);
    if (c === undefined) {
      c = this.tokenizer.count(piece);
      this.cost.set(piece, c);
    }
    return c;
  }

  /** One sentence as pieces (" word" and "."), its first word capitalised. */
  private sentence(rng: Rng): string[] {
    const pick = (list: string[]) => list[rng.int(list.length)];
    const words = [pick(SUBJECTS), pick(VERBS), pick(OBJECTS), pick(TAILS)].join(' ').split(' ');
    words[0] = words[0][0].toUpperCase() + words[0].slice(1);
    return [...words.map((w) => ` ${w}`), '.'];
  }

  /**
   * `head` followed by generated sentences so that the whole is exactly `tokens` tokens (by encoding it), or
   * `head` alone when it already has that many or more. The result never starts with a space.
   */
  exact(tokens: number, rng: Rng, head = ''): string {
    let total = head ? this.count(head) : 0;
    const pieces: string[] = [];
    let sentence: string[] = [];
    while (total < tokens) {
      if (sentence.length === 0) sentence = this.sentence(rng);
      const piece = sentence.shift()!;
      const c = this.pieceCost(piece);
      if (total + c > tokens) break;
      pieces.push(piece);
      total += c;
    }
    const join = () => {
      const body = pieces.join('');
      return head ? `${head}${body}` : body.trimStart();
    };
    // Pieces may merge or split at their joins (and the first loses its space): settle on the exact count.
    let text = join();
    for (let guard = 0; guard < 64; guard++) {
      const n = this.count(text);
      if (n === tokens || (n > tokens && pieces.length === 0)) return text;
      if (n > tokens) pieces.pop();
      else pieces.push(FILLERS[rng.int(FILLERS.length)]);
      text = join();
    }
    throw new Error(`could not make a text of exactly ${tokens} tokens`);
  }
}
