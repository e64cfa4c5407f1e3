// The live sequence diagram's model: what the wizard streams (steps and exchanges) becomes rows
// with lanes, arrows and labels. Pure: no DOM. Its PlantUML text ("Copy as text") is the engine's
// one renderer (the `trace_plantuml` command), so the events go back as they came (`eventOf`).
import type { Exchange, Participant, StepAbout, StepName, WizardEvent } from "./bindings";
import { failureOf } from "./transport";
import { m } from "../paraglide/messages.js";

export type TraceItem =
  /** `detail` is the engine's English (handed back for "Copy as text"); `about` is shown (lib/steps.ts). */
  | { kind: "step"; step: StepName; detail: string; about: StepAbout }
  | { kind: "exchange"; exchange: Exchange };

/** The lanes, left to right; `label` in the window's language (a function: the language may change). */
export const LANES: { id: Participant; label: () => string; alias: string }[] = [
  { id: "client", label: m.lane_client, alias: "Client" },
  { id: "lookup", label: m.lane_lookup, alias: "Lookup" },
  { id: "instance", label: m.lane_instance, alias: "Instance" },
  { id: "idp", label: m.lane_idp, alias: "IdP" },
];

/** A lane's name in the window's language. */
export function laneLabel(participant: Participant): string {
  return LANES.find((lane) => lane.id === participant)?.label() ?? participant;
}

/** Horizontal centre of each lane, in the diagram's 400-unit-wide coordinate space. */
export const DIAGRAM_WIDTH = 400;
export function laneX(participant: Participant): number {
  const index = LANES.findIndex((lane) => lane.id === participant);
  return Math.round((DIAGRAM_WIDTH / LANES.length) * (index + 0.5));
}

export function itemFromEvent(event: WizardEvent): TraceItem {
  if (event.event === "step") return { kind: "step", step: event.step, detail: event.detail, about: event.about };
  const { event: _tag, ...exchange } = event;
  return { kind: "exchange", exchange };
}

/** The event an item came from: what the `trace_plantuml` command renders. */
export function eventOf(item: TraceItem): WizardEvent {
  if (item.kind === "step") return { event: "step", step: item.step, detail: item.detail, about: item.about };
  return { event: "exchange", ...item.exchange };
}

/** Appends an event; exchanges arrive as they complete, the diagram shows them in the order sent. */
export function addEvent(items: TraceItem[], event: WizardEvent): TraceItem[] {
  const item = itemFromEvent(event);
  if (item.kind === "step") return [...items, item];
  // Concurrent requests finish in any order: place this one among the exchanges just before it.
  const sent = item.exchange.started_ms ?? 0;
  let at = items.length;
  while (at > 0) {
    const before = items[at - 1];
    if (before.kind !== "exchange" || (before.exchange.started_ms ?? 0) <= sent) break;
    at -= 1;
  }
  return [...items.slice(0, at), item, ...items.slice(at)];
}

export type StatusClass = "ok" | "redirect" | "client-error" | "server-error" | "failed";

export function statusClass(exchange: Exchange): StatusClass {
  const status = exchange.status;
  if (status === null || status === undefined) return "failed";
  if (status < 300) return "ok";
  if (status < 400) return "redirect";
  if (status < 500) return "client-error";
  return "server-error";
}

/** The request line as the diagram labels it: method and path (the host is the lane). */
export function requestLabel(exchange: Exchange): string {
  let path = exchange.url;
  try {
    const url = new URL(exchange.url);
    path = url.pathname + url.search;
  } catch {
    // Not a URL: show it as it came.
  }
  return `${exchange.method} ${path}`;
}

/** Characters of a request label that fit between the lanes (the rest is in the details). */
export const LABEL_FIT = 44;
/** The width of one character of a label (10.5 px monospace) in the diagram's units. */
const CHAR_WIDTH = 6.4;

/** How many characters fit in a label centred between `fromX` and `toX`: it may not run past
 *  either edge of the diagram (a label between Client and Lookup has less room than one across). */
export function labelRoom(fromX: number, toX: number): number {
  const middle = (fromX + toX) / 2;
  const room = Math.floor((2 * Math.min(middle, DIAGRAM_WIDTH - middle)) / CHAR_WIDTH);
  return Math.max(12, Math.min(LABEL_FIT, room));
}

/** A request label short enough to draw: the query goes first (`?…`), then the middle of the path. */
export function fitLabel(label: string, max = LABEL_FIT): string {
  if (label.length <= max) return label;
  const query = label.indexOf("?");
  const shorter = query >= 0 ? `${label.slice(0, query)}?…` : label;
  if (shorter.length <= max) return shorter;
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${shorter.slice(0, head)}…${shorter.slice(shorter.length - (keep - head))}`;
}

// HTTP's own reason phrases (RFC 9110): the protocol's words, the same in every language, as a
// browser's developer tools show them.
const REASONS: { [status: number]: string } = {
  200: "OK",
  207: "Multi-Status",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function responseLabel(exchange: Exchange): string {
  // No answer: the failure's kind in the window's language (the raw text is in the detail).
  if (exchange.status === null || exchange.status === undefined) return failureOf(exchange) ?? m.trace_no_answer();
  const reason = REASONS[exchange.status];
  return reason ? `${exchange.status} ${reason}` : `${exchange.status}`;
}

/** Where a redirect pointed, from the recorded response headers. */
export function locationOf(exchange: Exchange): string | undefined {
  return exchange.response_headers.find(([name]) => name.toLowerCase() === "location")?.[1];
}

export type Row =
  | { kind: "step"; step: StepName; detail: string; about: StepAbout }
  | {
      kind: "exchange";
      exchange: Exchange;
      /** First exchange of its round: the diagram draws the round's divider above it. */
      startsRound: boolean;
      fromX: number;
      toX: number;
      /** The full request line (details, screen readers). */
      request: string;
      /** The request line as drawn: fitted between the lanes. */
      label: string;
      response: string;
      status: StatusClass;
    };

export function rows(items: TraceItem[]): Row[] {
  let lastRound = 0;
  return items.map((item): Row => {
    if (item.kind === "step") return item;
    const exchange = item.exchange;
    const startsRound = exchange.round !== lastRound;
    lastRound = exchange.round;
    return {
      kind: "exchange",
      exchange,
      startsRound,
      fromX: laneX(exchange.from),
      toX: laneX(exchange.to),
      request: requestLabel(exchange),
      label: fitLabel(requestLabel(exchange), labelRoom(laneX(exchange.from), laneX(exchange.to))),
      response: responseLabel(exchange),
      status: statusClass(exchange),
    };
  });
}

export function roundCount(items: TraceItem[]): number {
  return new Set(items.flatMap((item) => (item.kind === "exchange" ? [item.exchange.round] : []))).size;
}

// The engine's StepName::title in the window's language (the PlantUML export keeps the engine's
// English, as `homeport connect --trace-format plantuml` writes it).
const STEP_NAMES: { [step in StepName]: () => string } = {
  probe: m.step_probe,
  authenticate: m.step_authenticate,
  discover: m.step_discover,
  verify: m.step_verify,
};

export function stepTitle(step: StepName): string {
  return STEP_NAMES[step]?.() ?? step;
}
