import { ERRORS, LoupeError, ROLES, type ServiceDefinition } from '@loupe/contracts';
import type { ServiceAppOptions } from './service-app.js';

const ACCESS: readonly unknown[] = [...ROLES, 'public'];

/** Start-up fails on ambiguous declarations, listing every problem at once. */
export function checkDeclarations(services: readonly ServiceDefinition[], remote: ServiceAppOptions['remote']): void {
  const problems: string[] = [];
  const serviceNames = new Set<string>();
  const subjects = new Map<string, string>();
  const routes = new Map<string, string>();
  for (const service of services) {
    if (serviceNames.has(service.name)) problems.push(`service ${service.name} is declared twice`);
    serviceNames.add(service.name);
    const handlerNames = new Set<string>();
    for (const decl of service.handlers) {
      const id = `${service.name}.${decl.name}`;
      if (handlerNames.has(decl.name)) problems.push(`handler ${id} is declared twice`);
      handlerNames.add(decl.name);
      const subjectOwner = subjects.get(decl.subject);
      if (subjectOwner) problems.push(`${id} and ${subjectOwner} both handle ${decl.subject}`);
      subjects.set(decl.subject, id);
      if (decl.route) {
        const key = `${decl.route.method} ${decl.route.url}`;
        const routeOwner = routes.get(key);
        if (routeOwner) problems.push(`${id} and ${routeOwner} both answer ${key}`);
        routes.set(key, id);
      }
      for (const code of decl.errors) if (!Object.hasOwn(ERRORS, code)) problems.push(`${id} declares unknown error ${code}`);
      if (!ACCESS.includes(decl.role)) problems.push(`${id} declares no role (one of ${ACCESS.join(', ')})`);
    }
    for (const page of service.pages ?? []) {
      if (!page.url.startsWith('/')) problems.push(`page ${page.url} of ${service.name} is not an absolute path`);
      const key = `GET ${page.url}`;
      const routeOwner = routes.get(key);
      if (routeOwner) problems.push(`page ${page.url} of ${service.name} and ${routeOwner} both answer ${key}`);
      routes.set(key, `${service.name} page ${page.url}`);
    }
  }
  for (const [name, decls] of Object.entries(remote ?? {})) {
    for (const decl of Object.values(decls)) if (!ACCESS.includes(decl.role)) problems.push(`remote ${name}.${decl.name} declares no role`);
  }
  if (problems.length > 0) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `invalid service declarations:\n- ${problems.join('\n- ')}`, { details: { problems } });
  }
}

