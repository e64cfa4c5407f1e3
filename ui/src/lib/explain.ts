// Plain words for every error the engine reports. The UI branches on `code` and the typed `reason`
// — never on the message text, nor on which fields `detail` happens to hold.
import type { ErrorReport } from "./bindings";

/** `loud`: a warning to be shown louder than an ordinary error (a changed certificate). */
export type Explanation = { title: string; hint: string; loud?: boolean };

function detailField(error: ErrorReport, field: string): string | undefined {
  const detail = error.detail;
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    const value = (detail as { [key: string]: unknown })[field];
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

export function explain(error: ErrorReport): Explanation {
  switch (error.code) {
    case "bad_input":
      if (error.reason === "admin_config") {
        return {
          title: "Your organisation's configuration for Homeport is broken",
          hint:
            "Homeport connects nowhere until it is fixed, as it cannot tell what your organisation set. " +
            "Ask your administrators: the message names the file, the line and the key.",
        };
      }
      if (error.reason === "client_certificate_password") {
        return {
          title: "The password does not open the certificate file",
          hint: "Check the certificate file's password (it is not your account's password) and try again.",
        };
      }
      if (error.reason === "client_certificate_file") {
        return {
          title: "The certificate file cannot be used",
          hint:
            "Choose a PKCS#12 file (.p12 or .pfx) that holds your certificate together with its private key, " +
            "as your administrator gave it to you.",
        };
      }
      return {
        title: "That address does not look right",
        hint: "Type a server address such as https://cloud.example.com, or an account such as alice@example.com.",
      };
    case "unreachable":
      if (error.reason === "proxy") {
        const proxy = detailField(error, "proxy");
        const which = proxy ? `The proxy ${proxy}` : "The proxy";
        return {
          title: "The proxy refused or did not answer",
          hint:
            `${which} refused the connection, did not answer, or did not accept its user name and password — the ` +
            "server itself was not asked. Check the proxy's address, user and password under \"Proxy…\" on the " +
            "address page, or choose \"None\" there to use the system's proxy settings.",
        };
      }
      return {
        title: "The server could not be reached",
        hint: "Check the address and your network connection, then try again.",
      };
    case "tls":
      return explainCertificate(error);
    case "auth_failed":
      switch (error.reason) {
        case "account_disabled":
          return {
            title: "The account is disabled",
            hint: "You logged in, but the server does not let this account in. Ask its administrator.",
          };
        case "tenant_refused":
          return {
            title: "This tenant may not use the application",
            hint: "Its identity zone issues no login for this application (not subscribed). Ask your administrator, or check the address.",
          };
        case "rate_limited":
          return {
            title: "The server is busy",
            hint: "It asked Homeport to wait; Homeport waited and tried once more. Try again in a minute.",
          };
        case "matrix_refused":
          return {
            title: "The Matrix server refused the login",
            hint: "It gave the reason above. Check the address and the user name, or ask the server's administrator.",
          };
        case "other_user":
          return {
            title: "You logged in as someone else",
            hint:
              "The identity provider logged in another user than the one you typed, and you chose to start over. " +
              "Nothing was saved. Log out at the identity provider first (or use a private browser window), then " +
              "press Continue to log in as the user you mean.",
          };
        case "idp_refused":
          return {
            title: "The identity provider did not log you in",
            hint: "Start again from the address and log in in your browser.",
          };
        default:
          return {
            title: "The login did not work",
            hint: "Check the user name and password and try again.",
          };
      }
    case "server_not_ready":
      switch (error.reason) {
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
      if (error.reason === "admin_config") {
        return {
          title: "Your organisation decided this",
          hint: "Nothing was sent. Ask your organisation's administrators if you need another server or setting.",
        };
      }
      if (error.reason === "issuer_not_approved") {
        const issuer = detailField(error, "issuer");
        const server = detailField(error, "server");
        return {
          title: "The login at another site was not approved",
          hint:
            `${server ?? "The server"} logs in at ${issuer ?? "an identity provider"}, which is on another site. ` +
            "Nothing was sent there. If your administrator told you this is right, start again and open the " +
            "login page when Homeport asks.",
        };
      }
      return {
        title: "Homeport stopped to protect your login",
        hint: "Your password was not sent. Start again and approve the server only if you trust it.",
      };
    case "keyring_unavailable":
      if (error.reason === "keyring_locked") {
        return {
          title: "The system keyring is locked",
          hint:
            "The keyring is where your desktop keeps passwords safe (GNOME Keyring, KWallet, KeePassXC). Homeport " +
            "stores passwords only there, never in a file. Unlock it — log in to your desktop session, or open " +
            "\"Passwords and Keys\" and unlock the Login keyring — then press Try again. Nothing is lost meanwhile.",
        };
      }
      return {
        title: "The system keyring is not available",
        hint:
          "The keyring is where your desktop keeps passwords safe (GNOME Keyring, KWallet, KeePassXC). Homeport " +
          "stores passwords only there, never in a file. Start one in your session (install gnome-keyring, or turn " +
          "on KeePassXC's Secret Service integration), or unlock it if it is locked, then press Try again. Nothing " +
          "is lost meanwhile.",
      };
    case "not_found":
      return { title: "Not found", hint: "Start again from the address." };
    case "protocol":
      if (error.reason === "homeserver_unusable") {
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

/**
 * A certificate the engine did not accept (`code: "tls"`), by its `reason`. A changed
 * certificate is the loud one: Homeport never accepts it silently.
 */
function explainCertificate(error: ErrorReport): Explanation {
  switch (error.reason) {
    case "client_certificate_required":
      return {
        title: "The server asks for a client certificate",
        hint:
          "It lets in only computers that present a certificate (mutual TLS), and none was given. Ask its " +
          "administrator for your certificate file (.p12 or .pfx), then connect again and choose it.",
      };
    case "client_certificate_refused":
      return {
        title: "The server did not accept your certificate",
        hint:
          "Your client certificate was presented, and the server refused it (another authority, expired, or " +
          "revoked). Ask its administrator which certificate it accepts.",
      };
    case "changed":
      return {
        title: "Warning: the server's certificate has changed",
        hint:
          "This is not the certificate you trusted for this account, and Homeport does not accept it silently. " +
          "Someone may be intercepting the connection — or the server got a new certificate. Do not go on until " +
          "you have checked with the server's administrator: if they confirm the new fingerprint, remove the " +
          "account and add it again.",
        loud: true,
      };
    case "untrusted":
      return {
        title: "The certificate was not trusted",
        hint:
          "The server's certificate is not issued by an authority this computer trusts, and you chose not to trust " +
          "it. Nothing was sent. Ask the server's administrator for its fingerprint, then connect again.",
      };
    case "wrong_host":
      return {
        title: "The certificate belongs to another server",
        hint:
          "It was issued for other host names than the address you typed. Check the address for typos; if it is " +
          "right, the server is misconfigured (or someone is impersonating it): tell its administrator.",
      };
    case "expired":
      return {
        title: "The server's certificate has expired",
        hint: "Its administrator has to renew it. Homeport does not connect with an expired certificate.",
      };
    case "not_yet_valid":
      return {
        title: "The server's certificate is not valid yet",
        hint:
          "Check this computer's date and time first — a wrong clock is the usual cause. If the clock is right, " +
          "tell the server's administrator.",
      };
    case "weak_signature":
      return {
        title: "The certificate uses a weak signature",
        hint:
          "It is signed with an algorithm too weak (or too unusual) to check safely. The server's administrator " +
          "has to replace it.",
      };
    default:
      return {
        title: "The secure connection failed",
        hint: "The server's certificate could not be checked. Check the address, or ask the server's administrator.",
      };
  }
}
