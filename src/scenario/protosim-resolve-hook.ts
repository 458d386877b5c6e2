/**
 * A module resolution hook (Node's `module.register`), registered by protocol-module.ts before it
 * imports a protocol module from outside the tree: the specifier `protosim/model` in that module's
 * imports resolves to the protosim that is running, through its package.json `exports`, wherever
 * protosim is installed (globally, by npx, or nowhere near the module). The package is then read by
 * the same protosim, and built with the same xstate, that runs it. Other imports resolve as usual.
 */
interface ResolveContext {
  parentURL?: string;
  conditions?: readonly string[];
  importAttributes?: Record<string, string>;
}

type NextResolve = (specifier: string, context?: ResolveContext) => Promise<{ url: string; format?: string | null; shortCircuit?: boolean }>;

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<{ url: string; format?: string | null; shortCircuit?: boolean }> {
  if (specifier === 'protosim' || specifier.startsWith('protosim/')) {
    // Resolved as if imported from inside protosim's own package: a package may import itself by name.
    return nextResolve(specifier, { ...context, parentURL: import.meta.url });
  }
  return nextResolve(specifier, context);
}
