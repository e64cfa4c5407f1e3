#!/usr/bin/env python3
"""A test robot that stands in for the person's browser: Homeport's tests set $BROWSER to this file.

    HOMEPORT_ROBOT_USER=einstein HOMEPORT_ROBOT_PASSWORD=relativity tests/peers/browser-robot.py URL

Given the authorization URL, it does what a person does in a browser (docs/testing.md, "Real OpenID
Providers"): it GETs the page with a cookie jar, follows redirects itself, fills the provider's own login form
(login + password) and consent form (node-oidc-provider's devInteractions, or any page with one such form),
follows redirects until the loopback callback (the request's redirect_uri, http://127.0.0.1:*/... or
http://localhost:*/...), GETs that callback once, and exits 0.

Given a Nextcloud Login Flow v2 login URL (.../index.php/login/v2/flow/<token>) it does the same through
Nextcloud's pages: the "Log in" button of the auth picker, the login form (user + password), the "Grant access"
form, and exits 0 at the "Account connected" page (the client's poll then gets the app password).

It talks to loopback hosts only (127.0.0.0/8, ::1, localhost) and refuses any other. Every page it saw, what it
submitted and where it ended are appended to $HOMEPORT_ROBOT_LOG when set (passwords are not written). On a
failure (a wrong password page, an error page, a loop) it says why on stderr and exits non-zero:
  2 usage, 3 the provider refused the login, 4 an error page or an unexpected answer, 5 the callback carried
  an OAuth error, 6 a non-loopback host.
Standard library only; it writes nothing on stdout (the CLI that starts it owns that).
"""

import html.parser
import http.client
import http.cookiejar
import ipaddress
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# As browsers do (RFC 6761 §6.3): every name under `localhost` is this machine, whatever the
# system resolver says (glibc knows only `localhost` itself). The lookup server's identity zones
# and homeservers live at such names.
_system_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.rstrip(".").lower().endswith(".localhost"):
        host = "127.0.0.1"
    return _system_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo

MAX_STEPS = 30
TIMEOUT_SECONDS = 15
LOGIN_FIELDS = ("login", "username", "user", "email", "identifier")


class Failure(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def log(line):
    path = os.environ.get("HOMEPORT_ROBOT_LOG")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as file:
        file.write(f"{time.strftime('%H:%M:%S')} [{os.getpid()}] {line}\n")


def is_loopback(url):
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_loopback(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Failure(6, f"refusing {url}: not an http(s) URL")
    if not is_loopback(url):
        raise Failure(6, f"refusing {url}: the robot only talks to loopback hosts (127.0.0.1, ::1, localhost)")


class Form:
    def __init__(self, action, method):
        self.action = action
        self.method = method
        self.fields = []  # (name, value, type)


class PageParser(html.parser.HTMLParser):
    """The forms of a page, its title and its visible text (for messages)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.title = ""
        self.text = []
        self._form = None
        self._in_title = False
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value or "") for name, value in attrs}
        if tag == "form":
            self._form = Form(attributes.get("action", ""), attributes.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and attributes.get("name"):
            kind = attributes.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            if kind in ("submit", "button", "image", "reset"):
                return
            self._form.fields.append((attributes["name"], attributes.get("value", ""), kind))
        elif tag == "title":
            self._in_title = True
        elif tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "title":
            self._in_title = False
        elif tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._skip and data.strip():
            self.text.append(data.strip())


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """The robot follows redirects itself, to check every hop and to stop at the callback."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Robot:
    def __init__(self, authorization_url):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # loopback only: never through a proxy from the environment
            urllib.request.HTTPCookieProcessor(self.jar),
            NoRedirects(),
        )
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query))
        self.redirect_uri = query.get("redirect_uri")
        self.provider_origin = origin(authorization_url)
        self.user = os.environ.get("HOMEPORT_ROBOT_USER")
        self.password = os.environ.get("HOMEPORT_ROBOT_PASSWORD")
        self.logins = 0

    def is_callback(self, url):
        if self.redirect_uri:
            target = urllib.parse.urlsplit(self.redirect_uri)
            seen = urllib.parse.urlsplit(url)
            return (seen.scheme, seen.netloc, seen.path) == (target.scheme, target.netloc, target.path)
        # No redirect_uri in the URL (a pushed request): the first hop off the provider that carries an answer.
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        return origin(url) != self.provider_origin and ("code" in query or "error" in query)

    def request(self, method, url, body=None):
        require_loopback(url)
        data = None
        headers = {"User-Agent": "homeport-browser-robot", "Accept": "text/html,application/xhtml+xml"}
        if body is not None:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            response = self.opener.open(request, timeout=TIMEOUT_SECONDS)
        except urllib.error.HTTPError as error:  # 3xx (redirects are not followed here) and 4xx/5xx
            response = error
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            raise Failure(4, f"{method} {url} failed: {error}") from None
        with response:
            status = response.status if hasattr(response, "status") else response.code
            location = response.headers.get("Location")
            content = response.read(256 * 1024).decode("utf-8", "replace")
        log(f"{method} {url} -> {status}" + (f" Location: {location}" if location else ""))
        return status, location, content

    def run(self, url):
        method, body = "GET", None
        for _ in range(MAX_STEPS):
            if self.is_callback(url):
                return self.finish(url)
            status, location, content = self.request(method, url, body)
            method, body = "GET", None
            if status in (301, 302, 303, 307, 308):
                if not location:
                    raise Failure(4, f"{url} answered {status} without a Location")
                url = urllib.parse.urljoin(url, location)
                continue
            page = PageParser()
            page.feed(content)
            summary = " ".join(page.text)[:600]
            log(f"page {url}: status {status}, title {page.title.strip()!r}, text: {summary}")
            if status >= 400:
                raise Failure(4, f"the provider answered {status} at {url}: {page.title.strip()} {summary}".strip())
            if not page.forms and is_flow_done(page):
                log("done: Nextcloud says the account is connected")
                return 0
            form = choose_form(page.forms)
            if form is None:
                raise Failure(4, f"no form to fill and no redirect at {url} (status {status}): {page.title.strip()} {summary}".strip())
            method, url, body = self.fill(url, form, page, summary)
        raise Failure(4, f"no callback after {MAX_STEPS} steps; last URL {url}")

    def fill(self, url, form, page, summary):
        names = {name for name, _, _ in form.fields}
        values = [(name, value) for name, value, _ in form.fields]
        action = urllib.parse.urljoin(url, form.action or url)
        if any(kind == "password" for _, _, kind in form.fields):
            self.logins += 1
            if self.logins > 1:
                raise Failure(3, f"the provider refused the login of {self.user!r} (wrong user or password?): {summary}")
            if self.password is None:
                raise Failure(2, "the provider asks for a password: set HOMEPORT_ROBOT_PASSWORD (and HOMEPORT_ROBOT_USER)")
            login_field = next((name for name in LOGIN_FIELDS if name in names), None)
            filled = []
            for name, value, kind in form.fields:
                if kind == "password":
                    value = self.password
                elif name == login_field and self.user:
                    value = self.user
                filled.append((name, value))
            user = dict(filled).get(login_field, "") if login_field else ""
            if login_field and not user:
                raise Failure(2, "the login form has no user filled in: set HOMEPORT_ROBOT_USER")
            log(f"submit login form to {action} as {user!r} (password hidden)")
            values = filled
        else:
            log(f"submit form to {action}: {urllib.parse.urlencode(values)}")
        if form.method == "post":
            return "POST", action, values
        split = urllib.parse.urlsplit(action)
        return "GET", urllib.parse.urlunsplit(split._replace(query=urllib.parse.urlencode(values))), None

    def finish(self, url):
        require_loopback(url)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        log(f"callback {url}")
        try:
            status, _, content = self.request("GET", url)
        except Failure as failure:
            raise Failure(4, f"the callback did not answer: {failure}") from None
        page = PageParser()
        page.feed(content)
        log(f"callback answered {status}: {' '.join(page.text)[:300]}")
        if "error" in query:
            raise Failure(5, f"the provider sent the callback an error: {query.get('error')} {query.get('error_description', '')}".strip())
        log("done")
        return 0


def origin(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_flow_done(page):
    """Nextcloud's Login Flow v2 done page (core/templates/loginflowv2/done.php): nothing is left to do."""
    return "Account connected" in page.title or "Account connected" in page.text


def choose_form(forms):
    """The login form if there is one, else the first form that is submitted by POST (consent), else any."""
    for form in forms:
        if any(kind == "password" for _, _, kind in form.fields):
            return form
    for form in forms:
        if form.method == "post":
            return form
    return forms[0] if forms else None


def main(argv):
    if len(argv) != 2 or not argv[1].startswith(("http://", "https://")):
        print("usage: browser-robot.py AUTHORIZATION_URL (credentials in HOMEPORT_ROBOT_USER, HOMEPORT_ROBOT_PASSWORD)", file=sys.stderr)
        return 2
    url = argv[1]
    log(f"start {url}")
    try:
        require_loopback(url)
        return Robot(url).run(url)
    except Failure as failure:
        log(f"failed: {failure}")
        print(f"browser-robot: {failure}", file=sys.stderr)
        return failure.code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
