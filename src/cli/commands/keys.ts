import { Command } from 'commander';
import { examples, jsonOption, wantsJson, resolveTenantId, type CliContext } from '../context.js';
import { formatTime, renderTable } from '../format.js';
import { printJson, writeLine } from '../io.js';

export function registerKeyCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const keys = jsonOption(
    program
      .command('keys')
      .summary('list API keys; create and revoke them')
      .description("List API keys (secrets are never shown again): members see their own, tenant admins their tenant's, operators all.")
      .option('--tenant <tenant>', 'only this tenant (name or id)'),
  )
    .addHelpText('after', examples(['unidle keys', 'unidle keys create --name laptop', 'unidle keys create --member mem_01J… --name ci', 'unidle keys revoke key_01J…']))
    .action(async (flags: { tenant?: string; json?: boolean }, cmd: Command) => {
      const client = await ctx.client(cmd);
      const { items } = await client.listKeys({ tenantId: await resolveTenantId(client, flags.tenant) });
      if (wantsJson(cmd)) return printJson(io, { items });
      if (items.length === 0) return writeLine(io.stderr, 'no keys');
      writeLine(
        io.stdout,
        renderTable(
          ['ID', 'NAME', 'PREFIX', 'MEMBER', 'ROLE', 'TENANT', 'CREATED', 'LAST USED', 'REVOKED'],
          items.map((k) => [k.id, k.name, k.prefix, k.memberName, k.role, k.tenantId ?? '-', formatTime(k.createdAt), formatTime(k.lastUsedAt), formatTime(k.revokedAt)]),
        ),
      );
    });

  keys
    .command('create')
    .description('Create an API key, for yourself or (tenant admins, operators) for a member. The secret is shown only now.')
    .option('--member <id>', 'member id (default: you)')
    .option('--name <name>', 'a label, e.g. laptop or ci')
    .addHelpText('after', examples(['unidle keys create --name laptop', 'unidle keys create --member mem_01J… --name ci --json | jq -r .key']))
    .action(async (flags: { member?: string; name?: string }, cmd: Command) => {
      const k = await (await ctx.client(cmd)).createKey({ memberId: flags.member, name: flags.name });
      if (wantsJson(cmd)) return printJson(io, k);
      writeLine(io.stdout, k.key);
      writeLine(io.stderr, `created key ${k.id} (${k.name}) for ${k.memberName} (${k.role}); the secret above is shown only now — store it, e.g. export UNIDLE_API_KEY=…`);
    });

  keys
    .command('revoke')
    .description('Revoke an API key; it stops working within seconds.')
    .argument('<id>', 'key id (key_…)')
    .addHelpText('after', examples(['unidle keys revoke key_01J…']))
    .action(async (id: string, _flags: object, cmd: Command) => {
      const k = await (await ctx.client(cmd)).revokeKey(id);
      if (wantsJson(cmd)) return printJson(io, k);
      writeLine(io.stdout, `revoked ${k.id} (${k.name}, ${k.prefix}) at ${formatTime(k.revokedAt)}`);
    });
}
