// Writes schema/providers.schema.json from the one schema in src/config/schema.ts (npm run schema).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toJsonSchema } from './config/schema.js';

const target = fileURLToPath(new URL('../schema/providers.schema.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(toJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
