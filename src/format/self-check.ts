import { SELF_CHECK_PROFILE, type SelfCheckLevel } from '../bench/self-check.js';
import { makeTable } from './table.js';

/** One decimal below 100 ms, whole ms above (so that 1,000 streams' figures fit the width). */
const fixed = (v: number) => v.toFixed(Math.abs(v) >= 100 ? 0 : 1);
const ms = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${fixed(v)}ms` : '-');

/** The client's measured error per level: its figure minus what the emulator did. */
export function selfCheckTable(levels: SelfCheckLevel[]): string {
  // p99s of the waits: they say where an error lives. Latency's own error is in the JSON (latency.p99 − truth_p99).
  const t = makeTable(['streams', 'ok/sent', 'TTFT err p50/p99', 'ITL err', 'client q', 'queued', 'emu loop', 'loop', 'CPU'], ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right']);
  const wait = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${fixed(v)}ms`);
  for (const l of levels) {
    t.push([
      String(l.streams),
      `${l.ok}/${l.requests}`,
      `${ms(l.ttft.p50 - l.ttft.truth_p50).replace('ms', '')}/${ms(l.ttft.p99 - l.ttft.truth_p99)}`,
      ms(l.itl.p50 - l.itl.truth_p50),
      wait(l.client_queue?.p99),
      wait(l.arrival_lag?.p99),
      wait(l.emulator_loop_delay_max),
      wait(l.event_loop_delay_p99),
      `${Math.round(l.cpu_percent)}%`,
    ]);
  }
  const note = offPlanNote(levels);
  return `${t.toString()}\n${note ? `${note}\n` : ''}err = bench's figure − what the emulator (its own process, ${SELF_CHECK_PROFILE.ttft} ms to first token, ${SELF_CHECK_PROFILE.output_tokens} tokens ${SELF_CHECK_PROFILE.itl} ms apart) logged it did; client q, queued and loop are p99s; client q = from the runner issuing a request until its bytes went to the connection (the client's own queue, kept out of every figure: the clock starts at the send); queued = from that send until the emulator took the request up (the request waited in the kernel or for the emulator's loop; the client counts that wait, the emulator's log does not, so it is part of every err); emu loop = how late the emulator's event loop ran at worst (max: one stall while a burst arrives delays all of it), the emulator's share of queued; loop = how late the client's event loop ran (p99), its own share of any error; CPU = the client's, % of one core.\n`;
}

/** Names the levels where the emulator fell behind its own plan ('' when none). */
export function offPlanNote(levels: SelfCheckLevel[]): string {
  const off = levels.filter((l) => !l.emulator_on_plan);
  if (!off.length) return '';
  const what = off.map((l) => `${l.streams} streams (first token p50 ${Math.round(l.ttft.truth_p50)} ms for ${SELF_CHECK_PROFILE.ttft}, token gap p50 ${fixed(l.itl.truth_p50)} ms for ${SELF_CHECK_PROFILE.itl})`).join(', ');
  return `Note: the emulator fell behind its own plan at ${what}: this machine cannot serve that load and measure it at once, so there the errors say how far bench agrees with an overloaded emulator (late timers, bunched tokens), not how it would measure a provider.`;
}
