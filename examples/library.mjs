// The fallback chain in your own process: `node examples/library.mjs` (after `npm run build`).
// `demo: true` runs the shipped chains on the built-in emulator; drop it to use your providers.yaml.
import { createRouter } from 'llm-fallback';

const router = await createRouter({ demo: true });
// Messages written inside the call, so that in TypeScript too `role: 'user'` is a ChatMessage's role (a
// `const messages = [...]` of their own would widen it to string).
const question = 'What is a circuit breaker?';

// One complete answer (live, cached or static), with every attempt the chain made.
const answer = await router.chat({ model: 'default', messages: [{ role: 'user', content: question }], maxTokens: 30 });
console.log(`${answer.source} answer from ${answer.provider} (${answer.model}) in ${Math.round(answer.latency_ms)} ms, $${answer.cost_usd.toFixed(6)}`);
console.log(answer.attempts.map((a) => `${a.provider}: ${a.decision}`).join(', '));

// The same chain as events, for streaming to your own UI.
for await (const event of router.stream({ model: 'default', messages: [{ role: 'user', content: question }], maxTokens: 30, cache: false })) {
  if (event.type === 'attempt_start') console.log(`→ asking ${event.provider}`);
  else if (event.type === 'token') process.stdout.write(event.text);
  else if (event.type === 'restart') console.log(`\n[${event.failed} failed mid-answer; ${event.next ?? 'nobody'} answers instead]`);
  else if (event.type === 'answer') console.log(`\n✓ ${event.result.provider}, first token ${Math.round(event.result.ttft_ms ?? 0)} ms`);
}
await router.close();
