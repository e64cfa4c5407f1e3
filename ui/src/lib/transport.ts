// An exchange's failure in the window's language, from the engine's typed `error_kind`
// (crates/homeport-engine/src/trace/transport.rs); the engine's raw text (the OS's, rustls', the
// proxy's) is the detail, shown beside it and marked as English (docs/translating.md). The switch
// is exhaustive: a new kind in the engine is a type error here.
import type { Exchange, TransportErrorKind } from "./bindings";
import { m } from "../paraglide/messages.js";

export function transportWords(kind: TransportErrorKind): string {
  switch (kind) {
    case "connection_refused":
      return m.transport_connection_refused();
    case "timed_out":
      return m.transport_timed_out();
    case "name_not_resolved":
      return m.transport_name_not_resolved();
    case "tls":
      return m.transport_tls();
    case "connection_reset":
      return m.transport_connection_reset();
    case "proxy":
      return m.transport_proxy();
    case "too_large":
      return m.transport_too_large();
    case "other":
      return m.transport_other();
    default: {
      const unknown: never = kind;
      return String(unknown);
    }
  }
}

/** What went wrong with `exchange`, in words: its kind, else (a trace from before kinds) the raw text. */
export function failureOf(exchange: Exchange): string | null {
  if (exchange.error_kind) return transportWords(exchange.error_kind);
  return exchange.error ?? null;
}
