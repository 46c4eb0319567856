"use strict";
// The hub's own pages behind the links in its mails (used while HUB_FRONTEND_URL is unset).
// Each page reads the token from its address and POSTs it to the matching endpoint of the
// API beside it; nothing is loaded from anywhere else.
(function () {
  var token = new URLSearchParams(location.search).get("token") || "";
  var api = new URL("api/v1/", location.href).href;
  // Keep the token out of the address bar and the history once it has been read.
  history.replaceState(null, "", location.pathname);
  var out = document.getElementById("out");

  function say(text, ok) {
    out.textContent = text;
    out.className = ok ? "ok" : "err";
  }
  function show(id, visible) {
    var element = document.getElementById(id);
    if (element) element.hidden = !visible;
  }
  function problem(res) {
    var data = res.data || {};
    var first = data.errors && data.errors[0] ? " " + data.errors[0].message : "";
    return (data.detail || "Something went wrong (" + res.status + ").") + first;
  }
  async function call(path, body, accessToken) {
    var headers = { "Content-Type": "application/json" };
    if (accessToken) headers.Authorization = "Bearer " + accessToken;
    var r = await fetch(api + path, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(body || {}),
      credentials: "omit",
    });
    var data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return { status: r.status, data: data };
  }
  function on(id, handler) {
    var form = document.getElementById(id);
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      try {
        await handler(form.elements);
      } catch (err) {
        say("The hub could not be reached: " + err.message, false);
      }
      button.disabled = false;
    });
  }

  if (!token) {
    say("This link has no token: open the link from the e-mail again.", false);
    return;
  }

  on("verify", async function () {
    var res = await call("auth/verify-email", { token: token });
    if (res.status !== 200) return say(problem(res), false);
    show("verify", false);
    say("Your address is confirmed. You can sign in now.", true);
  });

  on("reset", async function (f) {
    if (f.password.value !== f.confirm.value) return say("The two passwords differ.", false);
    var res = await call("auth/password/reset", { token: token, newPassword: f.password.value });
    if (res.status !== 200) return say(problem(res), false);
    show("reset", false);
    say("Your password was changed and every device signed out. Sign in with it now.", true);
  });

  var mfaToken = null;
  async function accept(accessToken) {
    var res = await call("invitations/" + encodeURIComponent(token) + "/accept", {}, accessToken);
    if (res.status !== 200) return say(problem(res), false);
    ["signin", "mfa", "new"].forEach(function (id) { show(id, false); });
    say("You joined " + res.data.organisationName + " as " + res.data.roles.join(", ") + ".", true);
  }
  on("signin", async function (f) {
    var res = await call("auth/login", { email: f.email.value, password: f.password.value });
    if (res.status !== 200) return say(problem(res), false);
    if (res.data.status !== "mfa_required") return accept(res.data.accessToken);
    mfaToken = res.data.mfaToken;
    show("signin", false);
    show("mfa", true);
    say("Enter the code from your authenticator app (or a recovery code).", true);
  });
  on("mfa", async function (f) {
    var code = f.code.value.trim();
    var body = /^[0-9]{6}$/.test(code) ? { code: code } : { recoveryCode: code };
    body.mfaToken = mfaToken;
    var res = await call("auth/mfa/verify", body);
    if (res.status !== 200) return say(problem(res), false);
    return accept(res.data.accessToken);
  });
  on("register", async function (f) {
    var res = await call("auth/register", {
      email: f.email.value, password: f.password.value, displayName: f.name.value,
    });
    if (res.status !== 202) return say(problem(res), false);
    show("new", false);
    say("Check your mailbox and confirm your address with the link we sent; then open this " +
      "invitation link again and sign in.", true);
  });
})();
