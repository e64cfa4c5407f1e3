import { describe, expect, it } from "vitest";
import type { Exchange, WizardEvent } from "./bindings";
import {
  addEvent,
  eventOf,
  fitLabel,
  labelRoom,
  DIAGRAM_WIDTH,
  LABEL_FIT,
  laneX,
  locationOf,
  responseLabel,
  rows,
  roundCount,
  statusClass,
} from "./diagram";
import type { TraceItem } from "./diagram";

function exchange(seq: number, round: number, overrides: Partial<Exchange> = {}): WizardEvent {
  return {
    event: "exchange",
    seq,
    round,
    from: "client",
    to: "lookup",
    method: "GET",
    url: "http://127.0.0.1:4000/status.php",
    status: 200,
    error: null,
    started_ms: seq * 10,
    duration_ms: 5,
    request_headers: [],
    response_headers: [],
    ...overrides,
  };
}

function build(events: WizardEvent[]): TraceItem[] {
  return events.reduce<TraceItem[]>((items, event) => addEvent(items, event), []);
}

describe("the live diagram", () => {
  it("shows concurrent exchanges in send order even when answers arrive out of order", () => {
    const items = build([
      { event: "step", step: "probe", detail: "checking", about: { kind: "checking", server: "http://127.0.0.1:4000/" } },
      // seq is completion order: the PROPFIND, sent second, finished first.
      exchange(1, 1, { method: "PROPFIND", url: "http://127.0.0.1:4000/remote.php/webdav/", status: 401, started_ms: 2 }),
      exchange(2, 1, { started_ms: 1 }),
    ]);
    const methods = items.flatMap((item) => (item.kind === "exchange" ? [item.exchange.method] : []));
    expect(methods).toEqual(["GET", "PROPFIND"]);
    expect(items[0].kind).toBe("step");
  });

  it("marks the first exchange of each round and counts rounds, not exchanges", () => {
    const items = build([exchange(1, 1), exchange(2, 1), exchange(3, 2, { to: "instance" })]);
    const starts = rows(items).map((row) => (row.kind === "exchange" ? row.startsRound : null));
    expect(starts).toEqual([true, false, true]);
    expect(roundCount(items)).toBe(2);
  });

  it("draws arrows between the right lanes", () => {
    const [row] = rows(build([exchange(1, 1, { to: "instance" })]));
    if (row.kind !== "exchange") throw new Error("expected an exchange row");
    expect(row.fromX).toBe(laneX("client"));
    expect(row.toX).toBe(laneX("instance"));
    expect(laneX("client")).toBeLessThan(laneX("lookup"));
    expect(laneX("lookup")).toBeLessThan(laneX("instance"));
    expect(row.request).toBe("GET /status.php");
  });

  it("classifies answers and labels failures with their reason", () => {
    const of = (status: number | null, error: string | null = null) => {
      const event = exchange(1, 1, { status, error });
      if (event.event !== "exchange") throw new Error("unreachable");
      const { event: _tag, ...plain } = event;
      return plain;
    };
    expect(statusClass(of(207))).toBe("ok");
    expect(statusClass(of(301))).toBe("redirect");
    expect(statusClass(of(401))).toBe("client-error");
    expect(statusClass(of(503))).toBe("server-error");
    expect(statusClass(of(null, "connection refused"))).toBe("failed");
    expect(responseLabel(of(301))).toBe("301 Moved Permanently");
    expect(responseLabel(of(429)), "a Matrix rate limit is named").toBe("429 Too Many Requests");
    expect(responseLabel(of(null, "connection refused"))).toBe("connection refused");
  });

  // The PlantUML text (participants, rounds, step notes, status, timing, Location) is the engine's:
  // crates/homeport-engine/src/trace_export/tests.rs, plantuml_of_the_events_*.
  it("reads a redirect's Location and hands the events back as the wizard sent them", () => {
    const events: WizardEvent[] = [
      {
        event: "step",
        step: "authenticate",
        detail: "logging in as test@instance2.com",
        about: { kind: "logging_in_as", user: "test@instance2.com" },
      },
      exchange(1, 1, {
        method: "PROPFIND",
        url: "http://127.0.0.1:4000/remote.php/webdav/",
        status: 301,
        duration_ms: 12.4,
        response_headers: [["Location", "http://127.0.0.1:4002/remote.php/webdav/"]],
      }),
    ];
    const items = build(events);
    expect(items.map(eventOf), "what trace_plantuml renders").toEqual(events);
    const first = items[1];
    expect(first.kind === "exchange" && locationOf(first.exchange)).toBe("http://127.0.0.1:4002/remote.php/webdav/");
  });
});

describe("labels that fit between the lanes", () => {
  it("keeps short labels and drops a long query first", () => {
    expect(fitLabel("GET /status.php")).toBe("GET /status.php");
    const webfinger = "GET /.well-known/webfinger?resource=http%3A%2F%2F127.0.0.1%3A39995%2F&rel=http%3A%2F%2Fopenid.net";
    expect(fitLabel(webfinger)).toBe("GET /.well-known/webfinger?…");
  });

  it("shortens a long path in the middle, never beyond the limit", () => {
    const long = `PROPFIND /remote.php/dav/files/${"x".repeat(60)}/Documents/`;
    const fitted = fitLabel(long);
    expect(fitted.length).toBe(LABEL_FIT);
    expect(fitted.startsWith("PROPFIND /remote")).toBe(true);
    expect(fitted.endsWith("/Documents/")).toBe(true);
  });

  it("never runs past the diagram's edge: a label next to the edge gets less room", () => {
    const [client, lookup, idp] = [laneX("client"), laneX("lookup"), laneX("idp")];
    const near = labelRoom(client, lookup);
    expect(near).toBeLessThan(LABEL_FIT);
    expect((near * 6.4) / 2).toBeLessThanOrEqual((client + lookup) / 2);
    expect(labelRoom(client, idp)).toBe(LABEL_FIT);
    const path = "GET /_matrix/client/unstable/org.matrix.msc2965/auth_metadata";
    const [row] = rows(build([exchange(1, 1, { url: `http://127.0.0.1:4000${path.slice(4)}`, to: "lookup" })]));
    expect(row.kind === "exchange" && row.label.length).toBe(near);
    expect(row.kind === "exchange" && ((row.fromX + row.toX) / 2 - (row.label.length * 6.4) / 2) >= 0).toBe(true);
    expect(DIAGRAM_WIDTH).toBe(400);
  });

  it("draws the fitted label but keeps the full request line", () => {
    const url = `http://127.0.0.1:4000/.well-known/webfinger?resource=${"a".repeat(80)}`;
    const items = build([exchange(1, 1, { url })]);
    const [row] = rows(items);
    expect(row.kind === "exchange" && row.label).toBe("GET /.well-known/webfinger?…");
    // The export's full line: plantuml_of_the_events_shows_where_a_redirect_points_and_the_full_request_line.
    expect(row.kind === "exchange" && row.request).toContain(`resource=${"a".repeat(80)}`);
  });
});
