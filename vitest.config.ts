import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests talk to the emulator over loopback and spawn the CLI: give slow CI machines room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers only adds scheduling noise to the timing assertions.
    maxWorkers: 2,
  },
});
