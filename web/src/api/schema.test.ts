import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
// @ts-expect-error plain ESM script shared with scripts/gen-api-types.mjs
import { generateApiTypes } from '../../../scripts/openapi-types.mjs';

describe('the console API types', () => {
  it('are up to date with the server schemas (run `npm run gen:api` if not)', async () => {
    const fresh = (await generateApiTypes(buildApp)) as string;
    const committed = readFileSync(new URL('./schema.gen.ts', import.meta.url), 'utf8');
    expect(committed === fresh, 'web/src/api/schema.gen.ts is stale: run `npm run gen:api` and commit it').toBe(true);
  }, 60_000);
});
