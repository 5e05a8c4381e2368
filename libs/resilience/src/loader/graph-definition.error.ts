/**
 * A load graph that cannot run: a duplicate step, an unknown dependency, a dependency cycle, an
 * essential step that depends on a non-essential one, or a bad timeout. Thrown by
 * `LoadGraphBuilder.build()`, i.e. at definition time (module load), never while serving a request.
 */
export class GraphDefinitionError extends Error {
  constructor(
    /** Name of the graph, for the message. */
    readonly graph: string,
    /** Every problem found, one sentence each. */
    readonly problems: readonly string[],
  ) {
    super(`Invalid load graph "${graph}": ${problems.join('; ')}`);
    this.name = 'GraphDefinitionError';
  }
}
