// The checker the tool itself uses on result files (src/util/json-schema.ts); tests check real output with it.
export { validate } from '../src/util/json-schema.js';
