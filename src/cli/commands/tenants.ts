import { Command } from 'commander';
import { examples, jsonOption, wantsJson, type CliContext } from '../context.js';
import { formatTime, renderTable } from '../format.js';
import { printJson, UsageError, writeLine } from '../io.js';

export function registerTenantCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const tenants = jsonOption(program.command('tenants').summary('list tenants; create them, manage members').description('List the tenants you can see (operators: all; others: their own).'))
    .addHelpText(
      'after',
      examples(['unidle tenants', 'unidle tenants create acme --display-name "ACME Research"', 'unidle tenants members acme', 'unidle tenants add-member acme alice --role tenant-admin', 'unidle keys create --member mem_01J…']),
    )
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const { items } = await (await ctx.client(cmd)).listTenants();
      if (wantsJson(cmd)) return printJson(io, { items });
      if (items.length === 0) return writeLine(io.stderr, 'no tenants visible to this key');
      writeLine(io.stdout, renderTable(['ID', 'NAME', 'DISPLAY NAME', 'CREATED'], items.map((t) => [t.id, t.name, t.displayName, formatTime(t.createdAt)])));
    });

  tenants
    .command('create')
    .description('Create a tenant (operator).')
    .argument('<name>', 'lowercase letters, digits and dashes')
    .option('--display-name <text>', 'a name for people')
    .addHelpText('after', examples(['unidle tenants create acme --display-name "ACME Research"']))
    .action(async (name: string, flags: { displayName?: string }, cmd: Command) => {
      const t = await (await ctx.client(cmd)).createTenant({ name, displayName: flags.displayName });
      if (wantsJson(cmd)) return printJson(io, t);
      writeLine(io.stdout, `created tenant ${t.name} (${t.id}); add people with: unidle tenants add-member ${t.name} NAME --role tenant-admin`);
    });

  tenants
    .command('members')
    .description("A tenant's members.")
    .argument('<tenant>', 'tenant name or id')
    .addHelpText('after', examples(['unidle tenants members acme']))
    .action(async (tenant: string, _flags: object, cmd: Command) => {
      const { items } = await (await ctx.client(cmd)).listMembers(tenant);
      if (wantsJson(cmd)) return printJson(io, { items });
      if (items.length === 0) return writeLine(io.stderr, 'no members');
      writeLine(io.stdout, renderTable(['ID', 'NAME', 'ROLE', 'EMAIL', 'CREATED'], items.map((m) => [m.id, m.name, m.role, m.email ?? '-', formatTime(m.createdAt)])));
    });

  tenants
    .command('add-member')
    .description('Add a member to a tenant (tenant-admin or operator). Then make them a key with `unidle keys create --member ID`.')
    .argument('<tenant>', 'tenant name or id')
    .argument('<name>', "the member's name")
    .option('--role <role>', 'member (default) or tenant-admin')
    .option('--email <email>', 'their email')
    .addHelpText('after', examples(['unidle tenants add-member acme alice --role tenant-admin --email alice@acme.example']))
    .action(async (tenant: string, name: string, flags: { role?: string; email?: string }, cmd: Command) => {
      if (flags.role !== undefined && flags.role !== 'member' && flags.role !== 'tenant-admin') throw new UsageError(`--role must be member or tenant-admin (got "${flags.role}")`);
      const m = await (await ctx.client(cmd)).addMember(tenant, { name, email: flags.email, role: flags.role as 'member' | 'tenant-admin' | undefined });
      if (wantsJson(cmd)) return printJson(io, m);
      writeLine(io.stdout, `added ${m.name} (${m.role}) as ${m.id}; give them a key with: unidle keys create --member ${m.id}`);
    });
}
