/**
 * `@matrixai/quic` (and its logger), loaded the first time a QUIC connection or listener is made.
 * The library and its native module are about a quarter of protosim's start-up, and most runs never
 * speak QUIC: every command (`protosim --version` included) would pay for it if it were imported
 * with the rest. Types are imported as types only (erased); values come from `loadQuic()`, and a
 * QuicPeer, made only after a connection exists, reads them with `loadedQuic()`.
 */
import type * as QuicModule from '@matrixai/quic';
import type LoggerClass from '@matrixai/logger';

export interface QuicLibrary {
  QUICClient: typeof QuicModule.QUICClient;
  QUICServer: typeof QuicModule.QUICServer;
  events: typeof QuicModule.events;
  /** a logger that logs nothing: what matters comes as events */
  silentLogger: LoggerClass;
}

let loaded: QuicLibrary | undefined;
let loading: Promise<QuicLibrary> | undefined;

/** Loads the library once; later calls get the same. */
export function loadQuic(): Promise<QuicLibrary> {
  loading ??= (async () => {
    const [quic, logger] = await Promise.all([import('@matrixai/quic'), import('@matrixai/logger')]);
    const silentLogger = new logger.default('quic', logger.LogLevel.SILENT);
    loaded = { QUICClient: quic.QUICClient, QUICServer: quic.QUICServer, events: quic.events, silentLogger };
    return loaded;
  })();
  return loading;
}

/** The library, once `loadQuic()` has loaded it (a connection cannot exist before). */
export function loadedQuic(): QuicLibrary {
  if (loaded === undefined) throw new Error('internal: the QUIC library is used before loadQuic()');
  return loaded;
}
