import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { UsageError } from './errors.js';
import { redact } from './util/redact.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** Exit codes shared by every command (documented in the README). */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('llm-fallback')
    .description('Benchmark LLM providers side by side, answer through a fallback chain, and gate CI on provider health and cost.')
    .version(pkg.version, '-V, --version')
    .option('-c, --config <file>', 'providers.yaml to use (default: $LLM_FALLBACK_CONFIG, ./providers.yaml, then the shipped one)')
    .option('--debug', 'print stack traces for unexpected errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ llm-fallback bench --demo                 benchmark four emulated providers (no keys, no network)
  $ llm-fallback providers                    list providers, prices and whether their keys are set
  $ llm-fallback config check providers.yaml  validate a config (exit 0 or 2)
  $ llm-fallback mock --port 8080             run the provider emulator for your own tests

Exit codes: 0 ok, 1 failure (thresholds failed, provider down), 2 usage or config error, 130 interrupted.`,
    );

  program
    .command('providers')
    .description('list providers and chains: model, prices, context window, whether the key variable is set')
    .option('--format <format>', 'table or json', 'table')
    .addHelpText('after', '\nExamples:\n  $ llm-fallback providers\n  $ llm-fallback --config my.yaml providers --format json')
    .action(async (opts: { format: string }) => {
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
    .command('mock')
    .description('run the provider emulator on 127.0.0.1 (OpenAI-compatible and Anthropic endpoints, injectable faults)')
    .option('-p, --port <port>', 'port to listen on (0 = any free port)', '0')
    .option('--host <host>', 'address to bind (loopback only unless you mean it)', '127.0.0.1')
    .option('--profile <name|file>', 'built-in profile (default, demo, instant) or a YAML/JSON profile file', 'default')
    .addHelpText(
      'after',
      `
Examples:
  $ llm-fallback mock --port 8080
  $ llm-fallback mock --profile demo
  $ curl -s localhost:8080/deepseek/v1/chat/completions -d '{"model":"x","messages":[{"role":"user","content":"hi"}]}'
  $ curl -s -X PUT localhost:8080/_mock/providers/deepseek/script -d '[{"kind":"rate_limit","retry_after":1,"times":1},{"kind":"ok"}]'

Per request, a header picks a fault:  x-mock-fault: {"kind":"cut","after_tokens":3}`,
    )
    .action(async (opts: { port: string; host: string; profile: string }) => {
      const { mockCommand } = await import('./commands/mock.js');
      return mockCommand(opts);
    });

  return program;
}

/** Entry point: runs the program and turns every failure into one line and an exit code. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
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
    process.stderr.write(`${redact(e.message)}\n`);
    if (debug && e.stack) process.stderr.write(`${redact(e.stack)}\n`);
    return EXIT.usage;
  }
  const err = e as Error;
  process.stderr.write(`llm-fallback: ${redact(err?.message ?? String(e))}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && err?.stack) process.stderr.write(`${redact(err.stack)}\n`);
  return EXIT.failure;
}

export { Option };
