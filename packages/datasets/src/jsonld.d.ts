/**
 * The slice of the `jsonld` package (digitalbazaar/jsonld.js, CommonJS, no bundled types) that
 * skos.ts uses. Its documentLoader is always given: the default one would go to the network.
 */
declare module 'jsonld' {
  export interface RemoteDocument {
    readonly contextUrl?: string | null;
    readonly documentUrl: string;
    readonly document: unknown;
  }
  export interface JsonLdOptions {
    readonly base?: string;
    readonly documentLoader?: (url: string, options?: unknown) => Promise<RemoteDocument>;
    readonly safe?: boolean;
  }
  /** A node object in expanded form: IRIs as keys, arrays of value and node objects as values. */
  export type ExpandedNode = Readonly<Record<string, unknown>>;
  const jsonld: {
    expand(input: unknown, options?: JsonLdOptions): Promise<ExpandedNode[]>;
    flatten(input: unknown, context: null, options?: JsonLdOptions): Promise<ExpandedNode[]>;
  };
  export default jsonld;
}
