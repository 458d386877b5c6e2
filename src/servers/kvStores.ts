/**
 * The key-value stores behind the IM server: named stores of string keys and values. Every
 * operation is one synchronous step on a Map, so it is atomic under any number of concurrent
 * requests (Node runs one callback at a time). Values are data only: nothing stored is ever parsed,
 * evaluated or used to pick a store.
 */

/** One store. `entries` is replaced wholesale only by the `nonatomic-kv` defect. */
export interface KvStore {
  entries: Map<string, string>;
}

export class KvStores {
  private readonly stores = new Map<string, KvStore>();

  /** The store named `name`, created on first use; undefined when `maxStores` would be exceeded. */
  open(name: string, maxStores: number): KvStore | undefined {
    let store = this.stores.get(name);
    if (store === undefined) {
      if (this.stores.size >= maxStores) return undefined;
      store = { entries: new Map() };
      this.stores.set(name, store);
    }
    return store;
  }

  /** Number of stores in use (for tests and logs). */
  get size(): number {
    return this.stores.size;
  }
}
