import type { HandlerDeclaration, ServiceDefinition } from '@loupe/contracts';

/**
 * A declaration of any input and output. `ServiceDefinition.handlers` holds
 * `HandlerDeclaration<TSchema, TSchema>`, to which a typed declaration is not assignable (its
 * handler takes a narrower input), so services list their handlers through this type.
 */
export type AnyHandlerDeclaration = HandlerDeclaration<any, any>;

export interface ServiceSpec extends Omit<ServiceDefinition, 'handlers'> {
  readonly handlers: readonly AnyHandlerDeclaration[];
}

/** Declares a service from typed handler declarations; the runtime checks them when it mounts the service. */
export function defineService(spec: ServiceSpec): ServiceDefinition {
  return spec as ServiceDefinition;
}
