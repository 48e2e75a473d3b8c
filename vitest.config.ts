import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests talk to the emulator over loopback and spawn the CLI: give slow CI machines room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers only add scheduling noise.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/accuracy.test.ts'] } },
      // Timing accuracy is checked on a quiet machine: npm test runs this project alone, after 'main'.
      { extends: true, test: { name: 'accuracy', include: ['test/accuracy.test.ts'] } },
    ],
  },
});
