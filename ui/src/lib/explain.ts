// Plain words for every error the engine reports, in the window's language (ui/messages/*.json).
// The UI branches on `code` and the typed `reason` — never on the message text, nor on which fields
// `detail` happens to hold; `detail` only fills in the names (servers, URLs, the server's own error
// code) of `specifics`, the translated counterpart of the engine's English `message`.
import type { ErrorReport } from "./bindings";
import { formatNumber, language } from "./i18n.svelte";
import { m } from "../paraglide/messages.js";

/** `loud`: a warning to be shown louder than an ordinary error (a changed certificate).
 *  `specifics`: what happened, with the engine's names, in words of the window's language; null
 *  where the catalogue has no sentence for it (the engine's own words are shown then). */
export type Explanation = { title: string; hint: string; loud?: boolean; specifics: string | null };

type Words = Omit<Explanation, "specifics">;

function detailField(error: ErrorReport, field: string): string | undefined {
  const detail = error.detail;
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    const value = (detail as { [key: string]: unknown })[field];
    if (typeof value === "number") return String(value);
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

export function explain(error: ErrorReport): Explanation {
  return { ...words(error), specifics: specifics(error) };
}

/** What happened, as one line: in English the engine's own words (what the CLI prints), in
 *  another language the catalogue's sentence, else the engine's words (EngineWords.svelte marks
 *  them as English where it can). */
export function whatHappened(error: ErrorReport): string {
  return specifics(error) ?? error.message;
}

function words(error: ErrorReport): Words {
  switch (error.code) {
    case "bad_input":
      if (error.reason === "admin_config") {
        return { title: m.err_admin_config_title(), hint: m.err_admin_config_hint() };
      }
      if (error.reason === "client_certificate_password") {
        return { title: m.err_cert_password_title(), hint: m.err_cert_password_hint() };
      }
      if (error.reason === "client_certificate_file") {
        return { title: m.err_cert_file_title(), hint: m.err_cert_file_hint() };
      }
      return { title: m.err_address_title(), hint: m.err_address_hint() };
    case "unreachable":
      if (error.reason === "proxy") {
        const proxy = detailField(error, "proxy");
        const which = proxy ? m.err_proxy_named({ proxy }) : m.err_proxy_unnamed();
        return { title: m.err_proxy_title(), hint: m.err_proxy_hint({ which }) };
      }
      return { title: m.err_unreachable_title(), hint: m.err_unreachable_hint() };
    case "tls":
      return explainCertificate(error);
    case "auth_failed":
      switch (error.reason) {
        case "account_disabled":
          return { title: m.err_disabled_title(), hint: m.err_disabled_hint() };
        case "account_deactivated":
          return { title: m.err_deactivated_title(), hint: m.err_deactivated_hint() };
        case "tenant_refused":
          return { title: m.err_tenant_title(), hint: m.err_tenant_hint() };
        case "rate_limited":
          return { title: m.err_rate_limited_title(), hint: m.err_rate_limited_hint() };
        case "matrix_refused":
          return { title: m.err_matrix_refused_title(), hint: m.err_matrix_refused_hint() };
        case "other_user":
          return { title: m.err_other_user_title(), hint: m.err_other_user_hint() };
        case "idp_refused":
          return { title: m.err_idp_refused_title(), hint: m.err_idp_refused_hint() };
        default:
          return { title: m.err_login_title(), hint: m.err_login_hint() };
      }
    case "server_not_ready":
      switch (error.reason) {
        case "maintenance":
          return { title: m.err_maintenance_title(), hint: m.err_maintenance_hint() };
        case "needs_db_upgrade":
          return { title: m.err_db_upgrade_title(), hint: m.err_db_upgrade_hint() };
        case "not_installed":
          return { title: m.err_not_installed_title(), hint: m.err_not_installed_hint() };
        default:
          return { title: m.err_not_ready_title(), hint: m.err_try_later() };
      }
    case "policy_refused":
      if (error.reason === "admin_config") {
        return { title: m.err_policy_admin_title(), hint: m.err_policy_admin_hint() };
      }
      if (error.reason === "issuer_not_approved") {
        const issuer = detailField(error, "issuer") ?? m.err_issuer_provider();
        const server = detailField(error, "server") ?? m.err_issuer_server();
        return { title: m.err_issuer_title(), hint: m.err_issuer_hint({ server, issuer }) };
      }
      return { title: m.err_policy_title(), hint: m.err_policy_hint() };
    case "keyring_unavailable":
      if (error.reason === "keyring_locked") {
        return { title: m.err_keyring_locked_title(), hint: m.err_keyring_locked_hint() };
      }
      return { title: m.err_keyring_title(), hint: m.err_keyring_hint() };
    case "not_found":
      return { title: m.err_not_found_title(), hint: m.err_not_found_hint() };
    case "protocol":
      if (error.reason === "homeserver_unusable") {
        return { title: m.err_homeserver_title(), hint: m.err_homeserver_hint() };
      }
      return { title: m.err_protocol_title(), hint: m.err_protocol_hint() };
    case "cancelled":
      return { title: m.err_cancelled_title(), hint: m.err_cancelled_hint() };
    case "internal":
      return { title: m.err_internal_title(), hint: m.err_internal_hint() };
  }
}

/**
 * A certificate the engine did not accept (`code: "tls"`), by its `reason`. A changed
 * certificate is the loud one: Homeport never accepts it silently.
 */
function explainCertificate(error: ErrorReport): Words {
  switch (error.reason) {
    case "client_certificate_required":
      return { title: m.err_cc_required_title(), hint: m.err_cc_required_hint() };
    case "client_certificate_refused":
      return { title: m.err_cc_refused_title(), hint: m.err_cc_refused_hint() };
    case "changed":
      return { title: m.err_changed_title(), hint: m.err_changed_hint(), loud: true };
    case "untrusted":
      return { title: m.err_untrusted_title(), hint: m.err_untrusted_hint() };
    case "wrong_host":
      return { title: m.err_wrong_host_title(), hint: m.err_wrong_host_hint() };
    case "expired":
      return { title: m.err_expired_title(), hint: m.err_expired_hint() };
    case "not_yet_valid":
      return { title: m.err_not_yet_valid_title(), hint: m.err_not_yet_valid_hint() };
    case "weak_signature":
      return { title: m.err_weak_title(), hint: m.err_weak_hint() };
    default:
      return { title: m.err_tls_title(), hint: m.err_tls_hint() };
  }
}

/**
 * What happened, with the engine's names: by `code` and `reason`, filled from `detail` (the
 * servers, URLs and error codes the engine put there, the same fields `--json` carries). Null
 * where `detail` does not hold what a sentence needs: then the engine's own words are shown.
 */
function specifics(error: ErrorReport): string | null {
  const field = (name: string) => detailField(error, name);
  const url = field("url");
  const server = field("server");
  switch (error.code) {
    case "unreachable": {
      const proxy = field("proxy");
      const seconds = field("timeout_seconds");
      if (error.reason === "proxy" && proxy && url) return m.said_proxy({ proxy, url });
      if (seconds && url) return m.said_timeout({ url, count: Number(seconds) });
      return url ? m.said_unreachable({ url }) : null;
    }
    case "tls": {
      const certificate = (error.detail as { certificate?: { issuer?: string; sha256?: string } } | null)?.certificate;
      if (url && certificate?.issuer && certificate.sha256) {
        return m.said_certificate({ url, issuer: certificate.issuer, sha256: certificate.sha256 });
      }
      if (server) return m.said_server({ server });
      return url ? m.said_url({ url }) : null;
    }
    case "bad_input": {
      const file = field("file");
      return error.reason !== "admin_config" && file ? m.said_file({ file }) : null;
    }
    case "server_not_ready":
      return server ? m.said_server({ server }) : null;
    case "auth_failed": {
      switch (error.reason) {
        case "wrong_password": {
          const origin = field("origin");
          const user = field("user");
          return origin && user ? m.said_wrong_password({ origin, user }) : null;
        }
        case "account_disabled":
          return server ? m.said_disabled({ server }) : null;
        case "account_deactivated":
          return server ? m.said_deactivated({ server }) : null;
        case "tenant_refused": {
          const tenant = field("tenant");
          return tenant ? m.said_tenant({ tenant }) : null;
        }
        case "matrix_refused": {
          const errcode = field("errcode");
          return server && errcode ? m.said_matrix({ server, errcode }) : null;
        }
        case "rate_limited": {
          const ms = field("retry_after_ms");
          return server && ms ? m.said_rate_limited({ server, ms: formatNumber(Number(ms)) }) : null;
        }
        case "other_user": {
          const typed = field("typed");
          const loggedIn = field("logged_in");
          return typed && loggedIn ? m.said_other_user({ typed, loggedIn }) : null;
        }
        case "idp_refused": {
          const idpError = field("error");
          return idpError ? m.said_idp_error({ error: idpError }) : null;
        }
        default:
          return server ? m.said_server({ server }) : null;
      }
    }
    case "policy_refused": {
      const issuer = field("issuer");
      const expected = field("expected");
      const got = field("got");
      if (error.reason === "issuer_not_approved" && server && issuer) return m.said_issuer({ server, issuer });
      if (expected && got) return m.said_issuer_mismatch({ expected, got });
      return null;
    }
    case "protocol": {
      const status = field("status");
      const what = field("what");
      const limit = field("limit_bytes");
      const base = field("base_url");
      if (error.reason === "homeserver_unusable" && base) return m.said_homeserver({ base });
      if (url && status) return m.said_status({ url, status });
      if (url && what) return m.said_invalid({ url, what });
      if (url && limit) return m.said_too_large({ url, limit: formatNumber(Number(limit)) });
      return null;
    }
    default:
      return null;
  }
}
