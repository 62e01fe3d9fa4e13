#!/usr/bin/env node
// Writes web/src/api/schema.gen.ts: TypeScript types for every path and schema of the API, generated
// by openapi-typescript from the OpenAPI document the server itself serves at /openapi.json. The app
// is built in-process (no database, no port) from the compiled server in dist/, so run `npm run build`
// first (or `npm run gen:api`, which does). web/src/api/schema.test.ts fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateApiTypes } from './openapi-types.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildApp } = await import(join(root, 'dist', 'api', 'app.js'));
const out = join(root, 'web', 'src', 'api', 'schema.gen.ts');
writeFileSync(out, await generateApiTypes(buildApp));
console.log(`wrote ${out}`);
