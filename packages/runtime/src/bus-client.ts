// The typed client lives beside the bus (@loupe/bus), where callers without a runtime reach it too.
export { createClient, type ServiceClient } from '@loupe/bus';
