import { Command } from 'commander';
import { ApiClient } from '../api-client.js';
import { examples, jsonOption, type CliContext } from '../context.js';
import { saveLogin } from '../config-file.js';
import { printJson, UsageError, writeLine } from '../io.js';

export interface WhoAmI {
  server: string;
  memberName: string | null;
  role: string | null;
  tenantId: string | null;
  tenantName: string | null;
  keyId: string | null;
}

/** Who a key belongs to, as the server says (GET /v1/me). */
export async function whoAmI(client: ApiClient, _apiKey: string): Promise<WhoAmI> {
  const me = await client.me();
  return { server: client.server, memberName: me.name, role: me.role, tenantId: me.tenantId, tenantName: me.tenantName, keyId: me.keyId };
}

export function registerLoginCommand(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  jsonOption(
    program
      .command('login')
      .summary('check an API key and remember it')
      .description(
        'Check an API key against the server and save the server and key to $XDG_CONFIG_HOME/unidle/config.json (or ~/.config/unidle/config.json), readable only by you. Later commands use them unless --server/--api-key or UNIDLE_SERVER/UNIDLE_API_KEY say otherwise.',
      )
      .option('--key <key>', 'the API key (default: --api-key or UNIDLE_API_KEY)'),
  )
    .addHelpText('after', examples(['unidle login --key unk_…', 'unidle login --server http://gpu-center.example:8080 --key unk_…']))
    .action(async (flags: { key?: string; json?: boolean }, cmd: Command) => {
      const conn = await ctx.connection(cmd);
      const key = flags.key ?? conn.apiKey;
      if (!key) throw new UsageError('give the key: unidle login --key unk_… (`unidle up` prints one; `unidle keys create` makes one)');
      if (key.length < 16 || /\s/.test(key)) throw new UsageError('that does not look like an API key: keys have at least 16 characters and no spaces (minted ones look like unk_<12 hex>_<secret>)');
      const client = new ApiClient({ server: conn.server, apiKey: key });
      const who = await whoAmI(client, key);
      const path = await saveLogin(io.env, { server: client.server, apiKey: key });
      if (flags.json) return printJson(io, { ...who, configPath: path });
      const as = who.memberName ? `${who.memberName} (${who.role}${who.tenantName ? ` of tenant ${who.tenantName}` : who.role === 'operator' ? ', all tenants' : ''})` : 'a valid key';
      writeLine(io.stdout, `logged in to ${client.server} as ${as}`);
      writeLine(io.stderr, `saved to ${path}`);
      if (io.env.UNIDLE_API_KEY && io.env.UNIDLE_API_KEY !== key) writeLine(io.stderr, 'note: UNIDLE_API_KEY is set and takes precedence over the saved key');
    });
}
