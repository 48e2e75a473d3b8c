import { SELF_CHECK_PROFILE, type SelfCheckLevel } from '../bench/self-check.js';
import { makeTable } from './table.js';

const ms = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(1)}ms` : '-');

/** The client's measured error per level: its figure minus what the emulator did. */
export function selfCheckTable(levels: SelfCheckLevel[]): string {
  const t = makeTable(['streams', 'ok/sent', 'TTFT p50 err', 'TTFT p99 err', 'ITL p50 err', 'lat p99 err', 'client q p99', 'queued p99', 'emu loop', 'loop p99', 'CPU'], ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right']);
  for (const l of levels) {
    t.push([
      String(l.streams),
      `${l.ok}/${l.requests}`,
      ms(l.ttft.p50 - l.ttft.truth_p50),
      ms(l.ttft.p99 - l.ttft.truth_p99),
      ms(l.itl.p50 - l.itl.truth_p50),
      ms(l.latency.p99 - l.latency.truth_p99),
      l.client_queue === null ? '-' : `${l.client_queue.p99.toFixed(1)}ms`,
      l.arrival_lag === null ? '-' : `${l.arrival_lag.p99.toFixed(1)}ms`,
      l.emulator_loop_delay_p99 === null ? '-' : `${l.emulator_loop_delay_p99.toFixed(1)}ms`,
      l.event_loop_delay_p99 === null ? '-' : `${l.event_loop_delay_p99.toFixed(1)}ms`,
      `${Math.round(l.cpu_percent)}%`,
    ]);
  }
  return `${t.toString()}\nerr = bench's figure − what the emulator (its own process, ${SELF_CHECK_PROFILE.ttft} ms to first token, ${SELF_CHECK_PROFILE.output_tokens} tokens ${SELF_CHECK_PROFILE.itl} ms apart) logged it did; client q = from the runner issuing a request until its bytes went to the connection (the client's own queue, kept out of every figure: the clock starts at the send); queued = from that send until the emulator took the request up (the request waited in the kernel or for the emulator's loop; the client counts that wait, the emulator's log does not, so it is part of every err); emu loop = how late the emulator's event loop ran (p99), the emulator's share of queued; loop = how late the client's event loop ran (p99), its own share of any error; CPU = the client's, % of one core.\n`;
}
