import {
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type SchemableIdentifierNode,
  type UnknownRow,
} from "kysely"

/** Renames the store's tables (and only them) to their prefixed names in every query. */
class PrefixTransformer extends OperationNodeTransformer {
  constructor(
    private readonly prefix: string,
    private readonly names: ReadonlySet<string>,
  ) {
    super()
  }

  protected override transformSchemableIdentifier(
    node: SchemableIdentifierNode,
    queryId?: unknown,
  ): SchemableIdentifierNode {
    const transformed = super.transformSchemableIdentifier(node, queryId as never)
    const name = transformed.identifier.name
    if (!this.names.has(name)) return transformed
    return { ...transformed, identifier: { ...transformed.identifier, name: `${this.prefix}${name}` } }
  }
}

/** The plugin that applies a table prefix, so queries are written (and typed) with the plain names. */
export class TablePrefixPlugin implements KyselyPlugin {
  readonly #transformer: PrefixTransformer

  constructor(prefix: string, names: ReadonlyArray<string>) {
    this.#transformer = new PrefixTransformer(prefix, new Set(names))
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node, args.queryId)
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}
