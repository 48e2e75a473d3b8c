import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { BENCH_DEFAULTS, CALL_DEFAULTS, EXIT, HEALTH_DEFAULTS, SERVE_DEFAULTS, SWEEP_DEFAULTS } from './defaults.js';
import { describeCode, UsageError } from './errors.js';
import { fitTextToTerminal, TEXT_WIDTH, wrapText } from './format/table.js';
import { redact, stripControls } from './util/redact.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * A paragraph of help text, wrapped at TEXT_WIDTH as tables are (the source's line breaks are not kept, so
 * an interpolated default cannot push a line past it). An example command is not prose: one longer than
 * TEXT_WIDTH is split by hand with a trailing backslash, so it still pastes and runs.
 */
const prose = (text: string): string => wrapText(text.replace(/\s*\n\s*/g, ' '), TEXT_WIDTH, '').join('\n');

/** Exit codes shared by every command (documented in the README). */

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('llm-fallback')
    .description('Benchmark LLM providers side by side, answer through a fallback chain, and gate CI on provider health and cost.')
    .version(pkg.version, '-V, --version')
    .option('--config <file>', 'providers.yaml to use (default: $LLM_FALLBACK_CONFIG, ./providers.yaml, then the shipped one)')
    .option('--debug', 'print stack traces for unexpected errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    // On a terminal Commander wraps options at the terminal's width (200 columns and more), so at most at
    // TEXT_WIDTH; piped, at its own default of 80. Subcommands inherit this, as they are made after it.
    .configureOutput({
      getOutHelpWidth: () => (process.stdout.isTTY ? Math.min(process.stdout.columns, TEXT_WIDTH) : 80),
      getErrHelpWidth: () => (process.stderr.isTTY ? Math.min(process.stderr.columns, TEXT_WIDTH) : 80),
    })
    .addHelpText(
      'after',
      `
Examples:
  $ llm-fallback bench --demo                 benchmark 4 emulated providers (no keys, no network)
  $ llm-fallback ask --demo "hello"           one answer through the fallback chain, on the emulator
  $ llm-fallback providers                    list providers, prices, keys set, breaker state
  $ llm-fallback health --chain default       can the default chain answer right now?
  $ llm-fallback cost --output-tokens 10M/day daily, monthly and yearly cost per provider
  $ llm-fallback config check providers.yaml  validate a config (exit 0 or 2)
  $ llm-fallback mock --port 8080             run the provider emulator for your own tests
  $ llm-fallback serve --demo                 the chain as an OpenAI/Anthropic-compatible gateway

Exit codes: 0 ok, 1 failure (thresholds failed, provider down, nothing answered, a result file not
written), 2 usage or config error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); ask also 3
(cached answer) and 4 (static message).`,
    );

  program
    .command('providers')
    .description('list providers and chains: model, prices, context window, whether the key variable is set')
    .option('--format <format>', 'table or json', 'table')
    .option('--wide', 'every column (api, cached-input price, price date, context window, key variable, route: direct or the proxy), not only those that fit 100 columns')
    .addHelpText('after', '\nExamples:\n  $ llm-fallback providers\n  $ llm-fallback providers --wide\n  $ llm-fallback --config my.yaml providers --format json')
    .action(async (opts: { format: string; wide?: boolean }) => {
      const { providersCommand } = await import('./commands/providers.js');
      return providersCommand(program.opts().config, opts);
    });

  const config = program.command('config').description('work with providers.yaml');
  config
    .command('check [file]')
    .description('validate a config file: one line per problem with file:line:column; exit 0 when valid, 2 otherwise')
    .addHelpText('after', '\nExamples:\n  $ llm-fallback config check\n  $ llm-fallback config check ./providers.yaml')
    .action(async (file: string | undefined) => {
      const { configCheckCommand } = await import('./commands/config-check.js');
      return configCheckCommand(file ?? program.opts().config);
    });

  program
    .command('bench')
    .description('benchmark providers side by side: latency and first-token percentiles (HDR), tokens/s, errors by class, real cost, CI thresholds')
    .argument('[targets...]', 'providers or chains to run (default: every provider whose key is set)')
    .option('--demo', 'benchmark the four emulated providers of the article, in-process on loopback (no keys, no network; not with --config)')
    .option('-c, --concurrency <n>', `closed loop: requests in flight per provider (default ${BENCH_DEFAULTS.concurrency}; ${BENCH_DEFAULTS.demoConcurrency} with --demo)`)
    .option('-r, --rate <r>', 'open loop: requests per second per provider; latency counts from each scheduled send')
    .option('--arrival <kind>', 'open-loop arrivals: constant or poisson (default constant)')
    .option('-n, --requests <n>', `measured requests per provider (default ${BENCH_DEFAULTS.requests}; ${BENCH_DEFAULTS.demoRequests} with --demo)`)
    .option('-d, --duration <dur>', 'measure for this long per provider, e.g. 30s (with --requests: whichever ends first)')
    .option('--warmup <n>', `requests per provider sent first and left out of the figures (default 0; --sweep: before the first step, default ${SWEEP_DEFAULTS.warmup})`)
    .option('--max-tokens <n>', 'max output tokens per request')
    .option('--temperature <t>', 'sampling temperature (0-2)')
    .option('--no-stream', 'send non-streaming requests (time to first token is then the whole answer)')
    .option('--timeout <dur>', 'give up on a request after this long (the provider\'s own clocks apply too)')
    .option('--seed <n>', 'seed for prompt order and open-loop arrivals', '1')
    .option('--prompts <file|dir>', 'prompts: .txt (--- between prompts), .yaml list, or .jsonl (default: the shipped prompts/)')
    .option('--prompt <text>', 'a prompt to send (repeatable; instead of --prompts)', collect)
    .option('--input-tokens <n>', 'synthetic prompts of exactly N tokens (counted with --tokenizer), real sentences built from --seed')
    .option('--input-tokens-stddev <s>', 'vary --input-tokens per request: normal with this standard deviation (at least 1 token)')
    .option('--output-tokens <n>', 'ask for N output tokens: max tokens N, plus ignore_eos/min_tokens to vLLM and SGLang servers (seen in their model list), else an instruction in the prompt')
    .option('--tokenizer <name>', 'o200k_base (default), cl100k_base, p50k_base or r50k_base: counts the synthetic prompts')
    .option('--shared-prefix-tokens <n>', 'every prompt opens with the same N-token prefix (a system prompt, RAG context): the server\'s prompt cache can serve it')
    .option('--cache-bust [share]', 'make the prefix unique for this share of requests (default 100%) so no cache can serve them; compare cached and uncached TTFT')
    .option('--turns <k>', 'multi-turn sessions of K requests, each carrying the earlier questions and answers; reports TTFT per turn')
    .option('--trace <file>', 'replay a JSONL trace (Mooncake/AIPerf timestamp, input_length, output_length, hash_ids) or a .csv one with a header (Azure TIMESTAMP,ContextTokens,GeneratedTokens) at its times')
    .option('--trace-speed <x>', 'replay the trace this much faster, e.g. 2x (default 1x)')
    .option('--sort <key>', 'sort rows by name, latency, ttft, tps, cost or errors')
    .option('--format <format>', 'table, json, csv or markdown', 'table')
    .option('--wide', 'table and markdown: every column (model, max, TTFB, ITL, TPOT, req/s, cost), not only the figures that fit 100 columns')
    .option('-o, --out <file>', 'write the full JSON result here (schema/bench-result.schema.json)')
    .option('--raw <file>', 'write one JSON line per request (timings, status, class, tokens; no keys, no text)')
    .option('--raw-include-text', 'add the prompt and the answer text to --raw lines')
    .option('--slo <slos>', 'a request is good when it succeeded and met every SLO, e.g. "ttft<=300ms,tpot<=50ms,latency<=5s" (vLLM/AIPerf "ttft:300" too); reports goodput and each SLO\'s pass rate (repeatable)', collect)
    .option('--sweep [mode]', `capacity search (needs --slo): short steps per provider at a doubling, then bisected rate (the default mode; from --rate, else ${SWEEP_DEFAULTS.startRate}/s) or concurrency (from --concurrency, else ${SWEEP_DEFAULTS.startConcurrency}); reports the highest that met --attainment`)
    .option('--attainment <pct>', `--sweep: share of a step's requests that must be good (default ${SWEEP_DEFAULTS.attainment})`)
    .option('--step-duration <dur>', `--sweep: length of each step (default ${SWEEP_DEFAULTS.stepDuration})`)
    .option('--max-requests <n>', `--sweep: stop a provider's search before it would send more than this many requests (default ${SWEEP_DEFAULTS.maxRequests})`)
    .option('--max-cost <usd>', '--sweep: stop a provider\'s search once it has spent this many dollars (prices × usage)')
    .option('--repeat <n>', 'run the whole bench n times (same settings and seed) and report each figure\'s spread: min/median/max, mean ± sd, CV')
    .option('--html <file>', 'write a self-contained HTML report (charts drawn inline, no network) here')
    .option('--hlog <file>', 'write an HdrHistogram interval log (per second, per provider: latency and TTFT) for the HDR tools')
    .option('--shard <i/n>', 'run shard I of N (1-based) of the load the other flags describe; "merge" adds the shards back up')
    .option('--workers <n>', `split each provider's load over n worker threads, each warmed and connected before the clock, their histograms added at the end; auto = one per core but one (default ${BENCH_DEFAULTS.workers})`)
    .option('--start-at <time>', 'start measuring at this time (ISO 8601 with a zone, or Unix seconds), so shards on several machines start together')
    .option('--fail-on <threshold>', 'fail (exit 1) unless this holds, e.g. "ttft_p95<800ms", "error_rate<1%", "deepseek:cost_per_1k<0.5" (repeatable)', collect)
    .option('--allow-failures', 'exit 0 even when a provider had no successful request (by default that fails the run)')
    .option('--max-inflight <n>', `open loop: cap on requests in flight per provider; sends past it wait and show as lag (default ${BENCH_DEFAULTS.maxInflight})`)
    .option('-q, --quiet', 'print only the result (no header line, no live progress)')
    .option('--self-check', 'measure this client against the emulator in its own process at 1 to 1000 streams and print its own error per level (about 15 s)')
    .addHelpText(
      'after',
      `
Examples:
  $ llm-fallback bench --demo
  $ llm-fallback bench --self-check
  $ llm-fallback bench deepseek kimi --requests 50 --concurrency 5
  $ llm-fallback bench default --rate 2 --arrival poisson --duration 60s --out result.json
  $ llm-fallback bench --demo --fail-on "ttft_p95<800ms" --fail-on "error_rate<5%"
  $ llm-fallback bench --demo --wide --format markdown
  $ llm-fallback bench --demo --slo "ttft<=500ms,latency<=3s" --fail-on "goodput_attainment>=80%" \\
      --html report.html
  $ llm-fallback bench deepseek --sweep --slo "ttft<=1s" --rate 2 --max-cost 0.50 \\
      --fail-on "max_rate>=8"
  $ llm-fallback bench --demo --input-tokens 1000 --output-tokens 100 --wide
  $ llm-fallback bench --demo --input-tokens 2000 --shared-prefix-tokens 1500 --cache-bust 50%
  $ llm-fallback bench --demo --turns 4 --input-tokens 200 --format json
  $ llm-fallback bench --demo --trace trace.jsonl --trace-speed 2x
  $ llm-fallback bench local --concurrency 200 --duration 30s --workers auto

${prose(`The table fits 100 columns: ok/sent, errors, latency p50/p95/p99, TTFT p50/p95, tok/s, $/1M output;
--wide adds the rest. An open loop (--rate) adds the rate achieved and the send lag per provider, and
a warning when the client fell behind its schedule. On a terminal, live progress per provider (done,
errors, running p50, ETA) is drawn on stderr, also with --format json/csv; Ctrl-C stops the run and
prints the partial result. NO_COLOR turns colour off.`)}

${prose(`Figures: latency = end − start (start = send time, or the scheduled time with --rate); TTFT = first non-empty
content/reasoning token; ITL = every gap between chunks; TPOT = (end − first token)/(tokens − 1);
tok/s = output tokens / measured wall time; goodput = requests/s that succeeded and met every --slo. Exit: 0 ok,
1 a threshold failed, a provider never succeeded or a file could not be written, 2 usage/config error (output
paths are checked before sending), 130 Ctrl-C, 143 SIGTERM.`)}`,
    )
    .action(async (targets: string[], opts: import('./commands/bench.js').BenchOptions & { selfCheck?: boolean }) => {
      if (opts.selfCheck) {
        const { selfCheckCommand } = await import('./commands/self-check.js');
        process.exitCode = await selfCheckCommand(opts);
        return;
      }
      const { benchCommand } = await import('./commands/bench.js');
      process.exitCode = await benchCommand(targets, opts, { config: program.opts().config, version: pkg.version });
    });

  program
    .command('ask')
    .description('one complete answer through the fallback chain: retries, three clocks, circuit breaker, then cache, then the static message')
    .argument('[prompt...]', 'the prompt (or use --file, or stdin)')
    .option('-f, --file <file>', 'read the prompt from a file')
    .option('-s, --system <text>', 'system message')
    .option('--chain <name>', 'chain to use (default: the "default" chain)')
    .option('-p, --provider <name>', 'use this one provider (still retried, then cache and static tiers)')
    .option('--max-tokens <n>', 'max output tokens')
    .option('--temperature <t>', 'sampling temperature (0-2)')
    .option('--reasoning-effort <level>', 'how hard a reasoning model thinks: none, minimal, low, medium, high, xhigh or max (OpenAI-dialect providers get reasoning_effort, max as xhigh, Anthropic ones a thinking budget, or adaptive thinking with that effort where a provider\'s thinking setting is adaptive)')
    .option('--timeout <dur>', `one deadline for the whole call, every retry and fallback included (default ${CALL_DEFAULTS.deadlineMs / 1000}s)`)
    .option('--hedge <dur|auto|off>', 'start the next provider too when no first token came within this delay (default auto: the provider\'s p95 TTFT from history, else 3s)')
    .option('--retries <n>', 'retries of a provider after fast failures, taken when it is the last live option (default 2, or defaults.retries)')
    .option('--on-content-filter <what>', 'stop (default): return the refusal; fallover: try the next provider')
    .option('--no-cache', 'neither read nor write the answer cache')
    .option('--json', 'print one JSON object: content, source, provider, usage, cost, attempts')
    .option('--demo', 'ask the article\'s chain on the built-in emulator (no keys, no network)')
    .option('-q, --quiet', 'no summary line on stderr')
    .addHelpText(
      'after',
      `
Examples:
  $ llm-fallback ask "Explain the CAP theorem in two sentences."
  $ git diff | llm-fallback ask --system "Review this diff" --chain western
  $ llm-fallback ask --provider deepseek --max-tokens 200 --json "Summarise RFC 9110"
  $ llm-fallback ask --demo "What is a circuit breaker?"

${prose(`Piped stdin is appended to a prompt given as arguments. Exit codes: 0 live answer, 3 cached answer,
4 static message, 1 nothing could answer (every attempt listed on stderr), 2 usage or config error or a
prompt no provider's context window fits, 130 Ctrl-C, 143 SIGTERM.`)}`,
    )
    .action(async (words: string[], opts: import('./commands/ask.js').AskOptions) => {
      const { askCommand } = await import('./commands/ask.js');
      process.exitCode = await askCommand(words, opts, { config: program.opts().config });
    });

  program
    .command('health')
    .description('check providers at once (a small real completion, or --shallow: the model list); exit 1 when a required provider or chain is down')
    .argument('[targets...]', 'providers or chains (default: every provider whose key is set, and every one with required: true)')
    .option('--shallow', 'only list models (no tokens spent) and check the provider\'s model is listed, instead of a small real completion')
    .option('--require <names>', 'comma-separated providers that must be healthy (default: those with required: true, else all named, else all checked)')
    .option('--chain <name>', 'check a chain: healthy when at least one of its providers is')
    .option('--format <format>', 'table, json, markdown or junit', 'table')
    .option('-o, --out <file>', 'write the report here (JSON for table, else the chosen format); stdout then shows the table')
    .option('--timeout <dur>', `give up on a check after this long (default ${HEALTH_DEFAULTS.timeoutMs / 1000}s)`)
    .option('--watch <dur>', 'repeat every interval and print up/down transitions until Ctrl-C')
    .addHelpText(
      'after',
      `
Examples:
  $ llm-fallback health
  $ llm-fallback health deepseek kimi --require deepseek --format junit --out health.xml
  $ llm-fallback health --chain default --shallow
  $ llm-fallback health --watch 60s

${prose(`A provider without its key set is skipped, not failed, unless it is required (a named one is, unless
--require lists others) or the whole chain lacks keys.`)}
${prose(`With --out the file gets the chosen format and stdout the table. Results update the circuit-breaker state
that ask uses. Exit: 0 healthy, 1 a required provider or chain is down, 2 usage/config error, 130 Ctrl-C, 143 SIGTERM.`)}`,
    )
    .action(async (targets: string[], opts: import('./commands/health.js').HealthOptions) => {
      const { healthCommand } = await import('./commands/health.js');
      process.exitCode = await healthCommand(targets, opts, { config: program.opts().config });
    });

  program
    .command('cost')
    .description('price comparison from the config, and the daily/monthly/yearly cost of a workload per provider')
    .argument('[providers...]', 'providers or chains to price (default: all)')
    .option('--output-tokens <volume>', 'output tokens, e.g. 10M/day, 300k, 1.5B/month')
    .option('--input-tokens <volume>', 'input tokens, e.g. 30M/day')
    .option('--cached-share <pct>', 'share of input tokens served from the prompt cache, e.g. 30%')
    .option('--from <result.json>', 'use a bench result\'s measured tokens per request (with --requests-per-day)')
    .option('--requests-per-day <n>', 'requests per day, with --from')
    .option('--baseline <provider>', 'show the difference against this provider')
    .option('--chain <name>', 'add the chain\'s blended cost')
    .option('--fallover-rate <pct>', 'with --chain: share of traffic that falls over at each step (default 5%)')
    .option('--currency <code>', 'show amounts in this currency (e.g. CNY) instead of USD')
    .option('--rate <n>', 'units of --currency per USD, e.g. 7.1')
    .option('--format <format>', 'table, json, markdown or csv', 'table')
    .addHelpText(
      'after',
      `
Examples:
  $ llm-fallback cost
  $ llm-fallback cost --output-tokens 10M/day --baseline openai
  $ llm-fallback cost --input-tokens 30M/day --cached-share 30% --output-tokens 10M/day \\
      --currency CNY --rate 7.1
  $ llm-fallback cost --from result.json --requests-per-day 40000 --chain default --fallover-rate 5%`,
    )
    .action(async (names: string[], opts: import('./commands/cost.js').CostOptions) => {
      const { costCommand } = await import('./commands/cost.js');
      process.exitCode = await costCommand(names, opts, { config: program.opts().config });
    });

  const breaker = program.command('breaker').description('circuit-breaker state shared by ask and health (and by gateway replicas through Redis)');
  const stateOption = '--state <url>';
  const stateHelp = 'where the state lives: file (the state directory, default) or the redis://host:port the gateway uses';
  breaker
    .command('show')
    .description('list every breaker record: provider, state, key')
    .option(stateOption, stateHelp)
    .action(async (opts: { state?: string }) => {
      const { breakerShowCommand } = await import('./commands/state.js');
      await breakerShowCommand(opts.state);
    });
  breaker
    .command('reset [provider]')
    .description('close the breaker of one provider, or of all')
    .option(stateOption, stateHelp)
    .action(async (name: string | undefined, opts: { state?: string }) => {
      const { breakerResetCommand } = await import('./commands/state.js');
      await breakerResetCommand(name, program.opts().config, opts.state);
    });

  program
    .command('cache')
    .description('the cache of good answers used by ask')
    .command('clear')
    .description('remove every cached answer')
    .option('--state <url>', 'where the answers live: file (the cache directory, default) or the redis://host:port the gateway uses (only keys under its prefix go)')
    .action(async (opts: { state?: string }) => {
      const { cacheClearCommand } = await import('./commands/state.js');
      await cacheClearCommand(opts.state);
    });

  program
    .command('merge')
    .description('combine results of the same providers from several machines by adding their histograms (exact percentiles)')
    .argument('<files...>', 'result files written by bench --out')
    .option('-o, --out <file>', 'write the merged JSON result here')
    .option('--format <format>', 'table, json, csv or markdown', 'table')
    .option('--wide', 'table and markdown: every column, as bench --wide')
    .option('--fail-on <threshold>', 'fail (exit 1) unless this holds on the merged result (repeatable); the thresholds the runs were held to are judged again too', collect)
    .addHelpText('after', '\nExamples:\n  $ llm-fallback merge runner-1.json runner-2.json runner-3.json --out merged.json\n  $ llm-fallback merge shard-*.json --fail-on "ttft_p95<800ms"')
    .action(async (files: string[], opts: { out?: string; format: string; wide?: boolean; failOn?: string[] }) => {
      const { mergeCommand } = await import('./commands/compare.js');
      process.exitCode = await mergeCommand(files, opts, pkg.version);
    });

  program
    .command('report')
    .description('render a saved bench result as a self-contained HTML report (the same page bench --html writes)')
    .argument('<result>', 'a result file written by bench --out or merge --out')
    .requiredOption('--html <file>', 'where to write the HTML report')
    .option('-q, --quiet', 'print nothing')
    .addHelpText('after', '\nExamples:\n  $ llm-fallback report result.json --html report.html')
    .action(async (file: string, opts: { html: string; quiet?: boolean }) => {
      const { reportCommand } = await import('./commands/report.js');
      process.exitCode = await reportCommand(file, opts);
    });

  program
    .command('compare')
    .description('show the change of every metric per provider between two results; exit 1 on a regression beyond the tolerance and outside the noise')
    .argument('<base>', 'the baseline result (bench --out)')
    .argument('<new>', 'the result to check')
    .option('--tolerance <pct>', 'allowed worsening of latency, throughput and cost', '10%')
    .option('--error-tolerance <pts>', 'allowed rise of the error rate, in percentage points', '1%')
    .option('--alpha <p>', 'significance level: a worsening counts only when the per-request data give p below this (default 0.05)')
    .option('--format <format>', 'table, json or markdown', 'table')
    .addHelpText('after', '\nExamples:\n  $ llm-fallback compare main.json pr.json\n  $ llm-fallback compare main.json pr.json --tolerance 5% --format markdown \\\n      >> "$GITHUB_STEP_SUMMARY"')
    .action(async (base: string, next: string, opts: { tolerance: string; errorTolerance: string; format: string; alpha?: string }) => {
      const { compareCommand } = await import('./commands/compare.js');
      process.exitCode = await compareCommand(base, next, opts);
    });

  program
    .command('serve')
    .description('run the fallback chain as an OpenAI- and Anthropic-compatible gateway (POST /v1/chat/completions, /v1/messages)')
    .option('-p, --port <port>', `port to listen on; 0 picks a free one (default serve.port, else ${SERVE_DEFAULTS.port})`)
    .option('--host <addr>', `address to bind (default serve.host, else ${SERVE_DEFAULTS.host}); beyond loopback needs a client key`)
    .option('--api-key-env <var>', 'environment variable holding the key clients must send (Authorization: Bearer or x-api-key; default serve.api_key_env)')
    .option('--state <url>', `where breaker state, cached answers and latency history live: memory or redis://host:port; \${VAR} in it comes from the environment, e.g. 'redis://:\${REDIS_PASSWORD}@host:6379' (default serve.state, else ${SERVE_DEFAULTS.state})`)
    .option('--otlp-endpoint <url>', 'send one trace span per call and per attempt to this OTLP/HTTP traces URL (default serve.otlp_endpoint; none)')
    .option('--demo', 'serve the shipped chains on the built-in emulator (no keys, no network)')
    .addHelpText(
      'after',
      `
Examples:
  $ llm-fallback serve --demo
  $ llm-fallback serve --port 8080 --config providers.yaml
  $ LLMF_CLIENT_KEY=$(openssl rand -hex 24) llm-fallback serve --host 0.0.0.0 \\
      --api-key-env LLMF_CLIENT_KEY --state redis://redis:6379
  $ curl -s localhost:8080/v1/chat/completions \\
      -d '{"model":"default","messages":[{"role":"user","content":"hi"}]}'

${prose(`The request's "model" names a chain, a provider, or provider/model. GET /v1/models lists what is served,
/healthz says alive, /readyz says whether every chain has a provider whose breaker is not open, /metrics
is Prometheus text. SIGHUP reloads providers.yaml (requests in flight finish on the old one); SIGTERM or
Ctrl-C stops accepting and gives requests in flight ${SERVE_DEFAULTS.shutdownGraceMs / 1000} s (serve.shutdown_grace). Exit: 2 usage or config
error (also: a non-loopback --host without a client key), 130 after Ctrl-C, 143 after SIGTERM.`)}`,
    )
    .action(async (opts: import('./commands/serve.js').ServeOptions) => {
      const { serveCommand } = await import('./commands/serve.js');
      process.exitCode = await serveCommand(opts, { config: program.opts().config });
    });

  program
    .command('mock')
    .description('run the provider emulator on 127.0.0.1 (OpenAI-compatible and Anthropic endpoints, injectable faults)')
    .option('-p, --port <port>', 'port to listen on (default: any free port)')
    .option('--host <host>', 'address to bind (loopback only unless you mean it)', '127.0.0.1')
    .option('--profile <name|file>', 'built-in profile (default, demo, instant, workloads) or a YAML/JSON profile file', 'default')
    .option('--print-config', 'print a providers.yaml for the running emulator on stdout (notes go to stderr)')
    .addHelpText(
      'after',
      `
Examples:
  $ llm-fallback mock --port 8080
  $ llm-fallback mock --profile demo
  $ llm-fallback mock --port 8080 --print-config > mock.yaml &
  $ llm-fallback --config mock.yaml ask hi
  $ curl -s localhost:8080/deepseek/v1/chat/completions \\
      -d '{"model":"deepseek-v4-flash","messages":[{"role":"user","content":"hi"}]}'
  $ curl -s -X PUT localhost:8080/_mock/providers/deepseek/script \\
      -d '[{"kind":"rate_limit","retry_after":1,"times":1},{"kind":"ok"}]'

Per request, a header picks a fault:  x-mock-fault: {"kind":"cut","after_tokens":3}
(a fault header it cannot read is answered 400).
The built-in profiles serve only their own model ids.`,
    )
    .action(async (opts: import('./commands/mock.js').MockOptions) => {
      const { mockCommand } = await import('./commands/mock.js');
      return mockCommand(opts);
    });

  return program;
}

/** Entry point: runs the program and turns every failure into one line and an exit code. */
export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  // Output piped into `head` or a closed pager is not an error worth a stack trace. Any other write error
  // (a full disk, /dev/full, EIO) is one line and exit 1, but the command runs on: bench still writes its
  // result files after the table could not be printed.
  let failedOutput = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (failedOutput) return;
      failedOutput = true;
      if (stream === process.stdout) {
        process.stderr.write(`llm-fallback: cannot write to standard output: ${describeCode(e.code) === 'error' ? e.message : describeCode(e.code)}\n`);
        if (debug && e.stack) process.stderr.write(`${shown(e.stack)}\n`);
      }
    });
  }
  // Whatever code the command chose, output that was lost is a failure (an interrupted run keeps 130/143).
  process.on('exit', () => {
    if (failedOutput && !process.exitCode) process.exitCode = EXIT.failure;
  });
  // Tables and prose on a terminal narrower than 100 columns fit it, read again when the window is resized
  // (a bench prints its table minutes after it started); piped or redirected, they keep to 100.
  if (process.stdout.isTTY) {
    fitTextToTerminal(process.stdout.columns);
    process.stdout.on('resize', () => fitTextToTerminal(process.stdout.columns));
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = report(e, debug);
  }
}

function report(e: unknown, debug: boolean): number {
  if (e instanceof CommanderError) {
    // Commander already printed its message (or the help/version text).
    return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (e instanceof UsageError) {
    process.stderr.write(`${shown(e.message)}\n`);
    if (debug && e.stack) process.stderr.write(`${shown(e.stack)}\n`);
    return EXIT.usage;
  }
  const err = e as Error;
  process.stderr.write(`llm-fallback: ${shown(err?.message ?? String(e))}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && err?.stack) process.stderr.write(`${shown(err.stack)}\n`);
  return EXIT.failure;
}

/** Text fit for a terminal: no secrets, no control sequences (messages may quote a server or a file). */
function shown(text: string): string {
  return stripControls(redact(text));
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
