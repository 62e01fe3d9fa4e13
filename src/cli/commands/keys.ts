import { Command } from 'commander';
import { examples, jsonOption, wantsJson, resolveTenantId, type CliContext } from '../context.js';
import { formatTime, renderTable } from '../format.js';
import { printJson, UsageError, writeLine } from '../io.js';

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
    .option('--agent', 'an agent token for `unidle agent --token` on a GPU host (operators)')
    .option('--center <center>', 'with --agent: the center (name or id); default: the only one')
    .addHelpText(
      'after',
      examples(['unidle keys create --name laptop', 'unidle keys create --member mem_01J… --name ci --json | jq -r .key', 'unidle keys create --agent --center demo-center']),
    )
    .action(async (flags: { member?: string; name?: string; agent?: boolean; center?: string }, cmd: Command) => {
      const client = await ctx.client(cmd);
      if (flags.center && !flags.agent) throw new UsageError('--center only goes with --agent');
      if (flags.agent && flags.member) throw new UsageError('--agent makes a token for a center, not a member: drop --member');
      let center = flags.center;
      if (flags.agent && !center) {
        const { items } = await client.listCenters();
        if (items.length !== 1) throw new UsageError(`say which center with --center (${items.map((c) => c.name).join(', ') || 'none exist yet'})`);
        center = items[0]!.name;
      }
      const k = flags.agent ? await client.createAgentToken(center!, { name: flags.name }) : await client.createKey({ memberId: flags.member, name: flags.name });
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
