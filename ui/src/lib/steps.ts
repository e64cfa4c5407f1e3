// A step's detail in the window's language, from the engine's typed `about` (its kind and the
// servers, users and issuers in it): never from the engine's English `detail`
// (docs/translating.md). The switch is exhaustive: a new kind in the engine is a type error here.
import type { StepAbout } from "./bindings";
import { m } from "../paraglide/messages.js";

export function stepDetail(about: StepAbout): string {
  switch (about.kind) {
    case "checking":
      return m.step_about_checking({ server: about.server });
    case "checking_and_logging_in":
      return m.step_about_checking_and_logging_in({ server: about.server, user: about.user });
    case "logging_in_as":
      return m.step_about_logging_in_as({ user: about.user });
    case "logging_in_at_as":
      return m.step_about_logging_in_at_as({ server: about.server, user: about.user });
    case "following_redirect":
      return m.step_about_following_redirect({ to: about.to });
    case "following_portal":
      return m.step_about_following_portal({ to: about.to });
    case "portal_sends_from_now_on":
      return m.step_about_portal_sends_from_now_on({ to: about.to });
    case "looking_up_matrix":
      return m.step_about_looking_up_matrix({ server: about.server });
    case "verifying_at":
      return m.step_about_verifying_at({ server: about.server });
    case "checking_login_at":
      return m.step_about_checking_login_at({ server: about.server });
    case "waiting_for_browser":
      return m.step_about_waiting_for_browser();
    case "refreshing_expired_token":
      return m.step_about_refreshing_expired_token();
    case "refreshing_at":
      return m.step_about_refreshing_at({ issuer: about.issuer });
    case "matrix_oauth_at":
      return m.step_about_matrix_oauth_at({ server: about.server, issuer: about.issuer });
    case "registering_client":
      return m.step_about_registering_client({ issuer: about.issuer });
    case "finding_identity_provider":
      return m.step_about_finding_identity_provider({ server: about.server });
    case "asking_where_account_lives":
      return m.step_about_asking_where_account_lives({ server: about.server });
    case "rate_limited_waiting":
      return m.step_about_rate_limited_waiting({ server: about.server, ms: about.retry_after_ms });
    case "login_flow_starting":
      return m.step_about_login_flow_starting({ server: about.server });
    case "login_flow_waiting":
      return m.step_about_login_flow_waiting({ minutes: about.minutes_left });
    case "account_lives_on":
      return m.step_about_account_lives_on({ server: about.server });
    case "exchanging_for_app_password":
      return m.step_about_exchanging_for_app_password({ server: about.server });
    default: {
      const unknown: never = about;
      return String(unknown);
    }
  }
}
