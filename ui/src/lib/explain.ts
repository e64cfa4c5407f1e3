// Plain words for every error the engine reports. The UI branches on `code` (and on
// `detail.reason` for a server that is not ready) — never on the message text.
import type { ErrorReport } from "./bindings";

export type Explanation = { title: string; hint: string };

function detailField(error: ErrorReport, field: string): string | undefined {
  const detail = error.detail;
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    const value = (detail as { [key: string]: unknown })[field];
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

function isNumberField(error: ErrorReport, field: string): boolean {
  const detail = error.detail;
  return !!detail && typeof detail === "object" && !Array.isArray(detail) && typeof detail[field] === "number";
}

export function explain(error: ErrorReport): Explanation {
  switch (error.code) {
    case "bad_input":
      return {
        title: "That address does not look right",
        hint: "Type a server address such as https://cloud.example.com, or an account such as alice@example.com.",
      };
    case "unreachable":
      return {
        title: "The server could not be reached",
        hint: "Check the address and your network connection, then try again.",
      };
    case "tls":
      return {
        title: "The secure connection failed",
        hint: "The server's certificate is not trusted. Ask its administrator, or check the address.",
      };
    case "auth_failed":
      if (detailField(error, "reason") === "account_disabled") {
        return {
          title: "The account is disabled",
          hint: "You logged in, but the server does not let this account in. Ask its administrator.",
        };
      }
      if (detailField(error, "tenant") !== undefined) {
        return {
          title: "This tenant may not use the application",
          hint: "Its identity zone issues no login for this application (not subscribed). Ask your administrator, or check the address.",
        };
      }
      if (isNumberField(error, "retry_after_ms")) {
        return {
          title: "The server is busy",
          hint: "It asked Homeport to wait; Homeport waited and tried once more. Try again in a minute.",
        };
      }
      if (detailField(error, "errcode") !== undefined) {
        return {
          title: "The Matrix server refused the login",
          hint: "It gave the reason above. Check the address and the user name, or ask the server's administrator.",
        };
      }
      if (detailField(error, "error") !== undefined) {
        return {
          title: "The identity provider did not log you in",
          hint: "Start again from the address and log in in your browser.",
        };
      }
      return {
        title: "The login did not work",
        hint: "Check the user name and password and try again.",
      };
    case "server_not_ready":
      switch (detailField(error, "reason")) {
        case "maintenance":
          return {
            title: "The server is in maintenance mode",
            hint: "Its administrator is working on it. Nothing is wrong with your account: try again later.",
          };
        case "needs_db_upgrade":
          return {
            title: "The server is being upgraded",
            hint: "Its database needs an upgrade before anyone can log in. Try again later.",
          };
        case "not_installed":
          return {
            title: "The server is not set up yet",
            hint: "The software is not installed there. Ask its administrator.",
          };
        default:
          return { title: "The server is not ready", hint: "Try again later." };
      }
    case "policy_refused":
      return {
        title: "Homeport stopped to protect your login",
        hint: "Your password was not sent. Start again and approve the server only if you trust it.",
      };
    case "keyring_unavailable":
      return {
        title: "The system keyring is not available",
        hint: "Homeport keeps passwords only in the system keyring. Unlock it (or start it) and press Done again.",
      };
    case "not_found":
      return { title: "Not found", hint: "Start again from the address." };
    case "protocol":
      if (detailField(error, "base_url") !== undefined) {
        return {
          title: "The portal named a homeserver that does not work",
          hint: "The Matrix portal's login answer points to a server that is not a usable homeserver. Nothing was stored; tell the portal's administrator.",
        };
      }
      return {
        title: "The server answered something unexpected",
        hint: "It may not be the kind of server Homeport knows (ownCloud, oCIS, Matrix), or it is misconfigured. Check the address.",
      };
    case "cancelled":
      return { title: "Cancelled", hint: "Nothing was saved." };
    case "internal":
      return { title: "Something went wrong inside Homeport", hint: "Try again; if it keeps happening, report it." };
  }
}
