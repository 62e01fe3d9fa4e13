import { forbidden } from '../domain/errors.js';
import type { MemberRole } from '../store/schema.js';

/** Who is calling, resolved from an API key. Every service call takes one; scoping happens here, not in routes. */
export interface Principal {
  memberId: string;
  keyId: string;
  role: MemberRole;
  tenantId: string | null;
  centerId: string | null;
  name: string;
}

export function isOperator(p: Principal): boolean {
  return p.role === 'operator';
}

export function requireOperator(p: Principal): void {
  if (p.role !== 'operator') throw forbidden('this needs the operator role');
}

export function requireAgent(p: Principal): void {
  if (p.role !== 'agent') throw forbidden('this endpoint is for node agents (use an agent token)');
}

/** Operators act on any tenant; tenant roles only on their own. Agents act on no tenant's behalf. */
export function requireTenantAccess(p: Principal, tenantId: string, adminOnly = false): void {
  if (p.role === 'operator') return;
  if (p.role === 'agent' || p.tenantId !== tenantId) throw forbidden('you can only act on your own tenant');
  if (adminOnly && p.role !== 'tenant-admin') throw forbidden('this needs the tenant-admin role');
}

/** The tenant a tenant-scoped request refers to: its own for tenant roles, an explicit one for operators. */
export function scopeTenant(p: Principal, requested?: string): string | undefined {
  if (p.role === 'operator') return requested;
  if (p.role === 'agent') throw forbidden('agents cannot act on tenant resources');
  if (requested && requested !== p.tenantId) throw forbidden('you can only see your own tenant');
  return p.tenantId ?? undefined;
}
