//! The hosted UI's sign-up, confirmation, MFA and password pages, as
//! Cognito's: `GET /signup` and `POST /signup` (the SignUp operation),
//! `POST /confirm` (ConfirmSignUp, or ResendConfirmationCode with the resend
//! button), `POST /mfa` (the code of the MFA challenge after a correct
//! password), `GET`/`POST /forgotPassword` and `POST /confirmForgotPassword`
//! (ForgotPassword, then ConfirmForgotPassword; also where a user whose
//! password must be reset is sent), and `POST /newPassword` (the new
//! password, and missing required attributes, that an administrator's
//! temporary password calls for: NEW_PASSWORD_REQUIRED).
//! Every page stays on the authorize request it came from; a confirmed
//! sign-up or a correct MFA code ends that request exactly as a password
//! sign-in does. The rules (password policy, existing users, codes) are the
//! engine's: these pages call the same operations and show their messages.

use std::collections::BTreeMap;

use cognito_wire::Sensitive;
use cognito_wire::cognito_idp::{self as idp, ChallengeNameType, operation as op};
use http::{HeaderMap, StatusCode};

use super::{
    AuthorizeRequest, Hosted, Reply, expired_page, grant, html_escape, page, sign_in_page, sign_in_page_with_notice,
    start_session, with_cookie,
};
use crate::engine::Engine;
use crate::state::{Step, User};

/// Wrong MFA codes a page accepts before the user must sign in again.
const MFA_ATTEMPTS: u32 = 5;

/// What an authorize request is waiting for after the sign-in page.
#[derive(Debug, Clone)]
pub(super) enum Pending {
    /// Signed up on this request; the confirmation code is awaited for
    /// this username.
    SignUp { username: String },
    /// A correct password; the MFA code is awaited. `session` is the
    /// engine's challenge session (the same one the API flow answers).
    Mfa { session: String, user_key: String, challenge: ChallengeNameType, wrong: u32 },
    /// A password reset was started (ForgotPassword) for this username;
    /// the code and the new password are awaited.
    Reset { username: String },
    /// A correct temporary password: the new password (and these missing
    /// required attributes) are awaited.
    NewPassword { user_key: String, required: Vec<String> },
}

/// The pending authorize request `id`, if it is still usable and for the
/// pool's own page.
fn request_of(engine: &Engine, hosted: &Hosted, id: &str) -> Option<AuthorizeRequest> {
    let now = engine.now();
    hosted.lock().requests.get(id).filter(|r| r.expires > now && r.provider.is_none()).cloned()
}

/// The client's `SECRET_HASH` for `username`, computed here as the hosted
/// UI (which knows the secret) would.
fn secret_hash(engine: &Engine, request: &AuthorizeRequest, username: &str) -> Option<Sensitive<String>> {
    let state = engine.lock();
    let secret =
        state.pools.get(&request.pool_id)?.clients.get(&request.client_id)?.client_secret.as_ref()?.expose().clone();
    drop(state);
    srp_core::secret_hash(&secret, username, &request.client_id).ok().map(|h| Sensitive::new(h.as_str().to_owned()))
}

fn error_block(error: Option<&str>) -> (String, &'static str) {
    match error {
        Some(e) => (
            format!("<p class=\"error\" id=\"error\" role=\"alert\">{}</p>\n", html_escape(e)),
            " aria-describedby=\"error\" aria-invalid=\"true\"",
        ),
        None => (String::new(), ""),
    }
}

/// The sign-up page: username, email, password.
pub(super) fn sign_up_page(id: &str, username: &str, email: &str, error: Option<&str>) -> Reply {
    let (error_html, described) = error_block(error);
    let body = format!(
        "<h1>Sign up</h1>\n{error_html}<form method=\"post\" action=\"/signup\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n\
         <label for=\"username\">Username</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" \
         spellcheck=\"false\" required autofocus value=\"{username}\"{described}>\n\
         <label for=\"email\">Email</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required value=\"{email}\"{described}>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required{described}>\n\
         <button type=\"submit\">Sign up</button>\n</form>\n\
         <p>Already have an account? <a href=\"/login?request={request_q}\">Sign in</a></p>",
        request = html_escape(id),
        request_q = html_escape(&super::percent_encode(id)),
        username = html_escape(username),
        email = html_escape(email),
    );
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page(status, "Sign up", &body)
}

/// The "Confirm your account" page: the code, and a resend button.
fn confirm_page(
    id: &str,
    username: &str,
    destination: Option<&str>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Reply {
    let (error_html, described) = error_block(error);
    let sent = match destination {
        Some(d) => format!(
            "<p>We have sent a code by email to {}. Enter it below to confirm your account.</p>\n",
            html_escape(d)
        ),
        None => "<p>Enter the code we sent you to confirm your account.</p>\n".to_owned(),
    };
    let notice = notice.map(|n| format!("<p role=\"status\">{}</p>\n", html_escape(n))).unwrap_or_default();
    let body = format!(
        "<h1>Confirm your account</h1>\n{sent}{notice}{error_html}<form method=\"post\" action=\"/confirm\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n\
         <input type=\"hidden\" name=\"username\" value=\"{username}\">\n\
         <label for=\"code\">Verification code</label>\n\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         autofocus{described}>\n\
         <div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"confirm\">Confirm account</button>\n\
         <button type=\"submit\" name=\"action\" value=\"resend\" class=\"secondary\" formnovalidate>Resend code</button></div>\n\
         </form>",
        request = html_escape(id),
        username = html_escape(username),
    );
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page(status, "Confirm your account", &body)
}

/// The MFA code page.
fn mfa_page(id: &str, challenge: &ChallengeNameType, error: Option<&str>) -> Reply {
    let (error_html, described) = error_block(error);
    let prompt = match challenge {
        ChallengeNameType::SmsMfa => "Enter the code we sent you by text message.",
        ChallengeNameType::EmailOtp => "Enter the code we sent you by email.",
        _ => "Enter the code from your authenticator app.",
    };
    let body = format!(
        "<h1>Multi-factor authentication</h1>\n<p>{prompt}</p>\n{error_html}<form method=\"post\" action=\"/mfa\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n\
         <label for=\"code\">Code</label>\n\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         required autofocus{described}>\n\
         <button type=\"submit\">Sign in</button>\n</form>",
        request = html_escape(id),
    );
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page(status, "Multi-factor authentication", &body)
}

/// `GET /signup?request=<id>`: the sign-up page of a pending request.
pub(super) fn sign_up_get(engine: &Engine, hosted: &Hosted, query: &BTreeMap<String, String>) -> Reply {
    let id = query.get("request").cloned().unwrap_or_default();
    if request_of(engine, hosted, &id).is_none() {
        return expired_page();
    }
    sign_up_page(&id, "", "", None)
}

/// `POST /signup`: SignUp with the form's values.
pub(super) fn sign_up_post(engine: &Engine, hosted: &Hosted, form: &BTreeMap<String, String>) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let username = form.get("username").map(|s| s.trim().to_owned()).unwrap_or_default();
    let email = form.get("email").map(|s| s.trim().to_owned()).unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    if username.is_empty() || password.is_empty() {
        return sign_up_page(&id, &username, &email, Some("Enter a username and a password."));
    }
    let mut attributes = Vec::new();
    if !email.is_empty() {
        attributes.push(idp::AttributeType {
            name: "email".into(),
            value: Some(Sensitive::new(email.clone())),
            ..Default::default()
        });
    }
    let result = engine.call::<op::SignUp>(idp::SignUpRequest {
        client_id: Sensitive::new(request.client_id.clone()),
        username: Sensitive::new(username.clone()),
        password: Some(Sensitive::new(password)),
        secret_hash: secret_hash(engine, &request, &username),
        user_attributes: Some(attributes),
        ..Default::default()
    });
    match result {
        Ok(response) => {
            hosted.lock().pending.insert(id.clone(), Pending::SignUp { username: username.clone() });
            let destination = response.code_delivery_details.and_then(|d| d.destination);
            confirm_page(&id, &username, destination.as_deref(), None, None)
        }
        Err(fail) => sign_up_page(&id, &username, &email, Some(&fail.message)),
    }
}

/// `POST /confirm`: ConfirmSignUp (then the request ends as a sign-in) or
/// ResendConfirmationCode.
pub(super) fn confirm_post(
    engine: &Engine,
    hosted: &Hosted,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    // Only the user who signed up on this request is confirmed (and signed in) here.
    let username = match hosted.lock().pending.get(&id) {
        Some(Pending::SignUp { username }) => username.clone(),
        _ => return expired_page(),
    };
    let code = form.get("code").map(|s| s.trim().to_owned()).unwrap_or_default();
    if form.get("action").map(String::as_str) == Some("resend") {
        return match engine.call::<op::ResendConfirmationCode>(idp::ResendConfirmationCodeRequest {
            client_id: Sensitive::new(request.client_id.clone()),
            username: Sensitive::new(username.clone()),
            secret_hash: secret_hash(engine, &request, &username),
            ..Default::default()
        }) {
            Ok(r) => {
                let destination = r.code_delivery_details.and_then(|d| d.destination);
                confirm_page(&id, &username, destination.as_deref(), Some("A new code has been sent."), None)
            }
            Err(fail) => confirm_page(&id, &username, None, None, Some(&fail.message)),
        };
    }
    if code.is_empty() {
        return confirm_page(&id, &username, None, None, Some("Enter the verification code."));
    }
    if let Err(fail) = engine.call::<op::ConfirmSignUp>(idp::ConfirmSignUpRequest {
        client_id: Sensitive::new(request.client_id.clone()),
        username: Sensitive::new(username.clone()),
        confirmation_code: code,
        secret_hash: secret_hash(engine, &request, &username),
        ..Default::default()
    }) {
        return confirm_page(&id, &username, None, None, Some(&fail.message));
    }
    let (key, user) = match engine.user_for_sign_in(&request.pool_id, &username) {
        Ok(Some(found)) => found,
        _ => return expired_page(),
    };
    hosted.lock().pending.remove(&id);
    // Signed in as after a password: the pool's MFA applies here too.
    after_password(engine, hosted, headers, &id, &request, key, &user)
}

/// Ends the request as a password sign-in does: request used up, session
/// started, code or tokens to the app.
fn finish(
    engine: &Engine,
    hosted: &Hosted,
    headers: &HeaderMap,
    id: &str,
    request: &AuthorizeRequest,
    key: String,
) -> Reply {
    let now = engine.now();
    {
        let mut s = hosted.lock();
        s.requests.remove(id);
        s.pending.remove(id);
    }
    let cookie = start_session(hosted, headers, &request.pool_id, &key, now);
    with_cookie(grant(engine, hosted, request, key, now, now), &cookie)
}

/// After a correct password: ends the request, or asks for the MFA code
/// the engine's challenge calls for (sending it for SMS and email).
pub(super) fn after_password(
    engine: &Engine,
    hosted: &Hosted,
    headers: &HeaderMap,
    id: &str,
    request: &AuthorizeRequest,
    key: String,
    user: &User,
) -> Reply {
    let again = |message: &str| sign_in_page(id, &user.username, Some(message), &request.choices);
    let outcome = match engine.mfa_step(&request.pool_id, &request.client_id, &key, user) {
        Ok(None) => return finish(engine, hosted, headers, id, request, key),
        Ok(Some(outcome)) => outcome,
        Err(fail) => return again(&fail.message),
    };
    let (mut challenge, mut session) = (outcome.challenge_name, outcome.session);
    if challenge == Some(ChallengeNameType::SelectMfaType) {
        // Several factors and no preference: the first one offered (the
        // API flow lets the user choose; this page does not yet).
        let choice = session.as_deref().and_then(|sid| match engine.lock().sessions.remove(sid).map(|s| s.step) {
            Some(Step::SelectMfa { choices }) => choices.first().cloned(),
            _ => None,
        });
        let Some(choice) = choice else { return again("Your session has expired. Sign in again.") };
        match engine.issue_mfa_challenge(&request.pool_id, &request.client_id, &key, user, choice) {
            Ok(o) => (challenge, session) = (o.challenge_name, o.session),
            Err(fail) => return again(&fail.message),
        }
    }
    match (challenge, session) {
        (
            Some(c @ (ChallengeNameType::SoftwareTokenMfa | ChallengeNameType::SmsMfa | ChallengeNameType::EmailOtp)),
            Some(session),
        ) => {
            hosted
                .lock()
                .pending
                .insert(id.to_owned(), Pending::Mfa { session, user_key: key, challenge: c.clone(), wrong: 0 });
            mfa_page(id, &c, None)
        }
        (Some(ChallengeNameType::MfaSetup), session) => {
            if let Some(sid) = session {
                engine.lock().sessions.remove(&sid);
            }
            again(
                "This account must set up multi-factor authentication first, which the local pool's hosted UI \
                 cannot do yet. Set it up through the API (AssociateSoftwareToken), then sign in here.",
            )
        }
        _ => again("This sign-in step is not supported by the local pool's hosted UI."),
    }
}

/// `POST /mfa`: checks the code as RespondToAuthChallenge does.
pub(super) fn mfa_post(
    engine: &Engine,
    hosted: &Hosted,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    let Some(Pending::Mfa { session, user_key, challenge, wrong }) = hosted.lock().pending.get(&id).cloned() else {
        return expired_page();
    };
    let given = form.get("code").map(|s| s.trim().to_owned()).unwrap_or_default();
    let now = engine.now();
    let start_over = |message: &str| {
        hosted.lock().pending.remove(&id);
        engine.lock().sessions.remove(&session);
        sign_in_page(&id, "", Some(message), &request.choices)
    };
    let ok = {
        let state = engine.lock();
        let auth = state.sessions.get(&session).filter(|s| s.expires >= now && s.user_key == user_key);
        let Some(auth) = auth else {
            drop(state);
            return start_over("Your session has expired. Sign in again.");
        };
        match &auth.step {
            Step::Mfa { code: Some(expected), .. } => {
                crate::engine::constant_time_eq(expected.as_bytes(), given.as_bytes())
            }
            Step::Mfa { code: None, .. } => state
                .pools
                .get(&request.pool_id)
                .and_then(|p| p.users.get(&user_key))
                .and_then(|u| u.mfa.totp_secret.as_deref())
                .is_some_and(|secret| crate::mfa::totp_matches(secret, &given, now)),
            _ => false,
        }
    };
    if !ok {
        if wrong + 1 >= MFA_ATTEMPTS {
            return start_over("Too many invalid codes. Sign in again.");
        }
        if let Some(Pending::Mfa { wrong, .. }) = hosted.lock().pending.get_mut(&id) {
            *wrong += 1;
        }
        return mfa_page(&id, &challenge, Some(&crate::mfa::mismatch().message));
    }
    engine.lock().sessions.remove(&session);
    finish(engine, hosted, headers, &id, &request, user_key)
}

/// `GET /login?request=<id>`: back to the sign-in page of a pending request
/// (the sign-up page's "Sign in" link).
pub(super) fn sign_in_get(engine: &Engine, hosted: &Hosted, query: &BTreeMap<String, String>) -> Reply {
    let id = query.get("request").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    sign_in_page(&id, request.login_hint.as_deref().unwrap_or(""), None, &request.choices)
}

/// The new password and its repetition, as the password pages take them.
fn new_password_fields(described: &str) -> String {
    format!(
        "<label for=\"password\">New password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required{described}>\n\
         <label for=\"password2\">New password again</label>\n\
         <input id=\"password2\" name=\"password2\" type=\"password\" autocomplete=\"new-password\" required{described}>\n"
    )
}

/// The two new-password fields of `form`, if they are given and agree.
fn new_password_of(form: &BTreeMap<String, String>) -> Result<String, &'static str> {
    let password = form.get("password").cloned().unwrap_or_default();
    if password.is_empty() {
        return Err("Enter a new password.");
    }
    if form.get("password2") != Some(&password) {
        return Err("The passwords do not match.");
    }
    Ok(password)
}

/// The "Forgot your password?" page: the username to send a code for.
fn forgot_page(id: &str, username: &str, error: Option<&str>) -> Reply {
    let (error_html, described) = error_block(error);
    let body = format!(
        "<h1>Forgot your password?</h1>\n<p>Enter your username and we will send you a code to reset your \
         password.</p>\n{error_html}<form method=\"post\" action=\"/forgotPassword\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n\
         <label for=\"username\">Username</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" \
         spellcheck=\"false\" required autofocus value=\"{username}\"{described}>\n\
         <button type=\"submit\">Send a code</button>\n</form>\n\
         <p><a href=\"/login?request={request_q}\">Back to sign in</a></p>",
        request = html_escape(id),
        request_q = html_escape(&super::percent_encode(id)),
        username = html_escape(username),
    );
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page(status, "Forgot your password?", &body)
}

/// The "Reset your password" page: the code sent, the new password twice,
/// and a button to send another code.
fn reset_page(id: &str, destination: Option<&str>, notice: Option<&str>, error: Option<&str>) -> Reply {
    let (error_html, described) = error_block(error);
    let sent = match destination {
        Some(d) => {
            format!("<p>We have sent a code to {}. Enter it below with your new password.</p>\n", html_escape(d))
        }
        None => "<p>Enter the code we sent you, with your new password.</p>\n".to_owned(),
    };
    let notice = notice.map(|n| format!("<p role=\"status\">{}</p>\n", html_escape(n))).unwrap_or_default();
    let body = format!(
        "<h1>Reset your password</h1>\n{notice}{sent}{error_html}<form method=\"post\" action=\"/confirmForgotPassword\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n\
         <label for=\"code\">Code</label>\n\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         autofocus{described}>\n{fields}\
         <div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"reset\">Reset password</button>\n\
         <button type=\"submit\" name=\"action\" value=\"resend\" class=\"secondary\" formnovalidate>Send a new code</button></div>\n\
         </form>",
        request = html_escape(id),
        fields = new_password_fields(described),
    );
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page(status, "Reset your password", &body)
}

/// The "Choose a new password" page after a temporary password, with a
/// field for each missing required attribute.
fn new_password_page(id: &str, required: &[String], error: Option<&str>) -> Reply {
    let (error_html, described) = error_block(error);
    let attributes: String = required
        .iter()
        .enumerate()
        .map(|(n, name)| {
            format!(
                "<label for=\"attribute-{n}\">{label}</label>\n\
                 <input id=\"attribute-{n}\" name=\"attribute.{name}\" type=\"text\" required{described}>\n",
                label = html_escape(name),
                name = html_escape(name),
            )
        })
        .collect();
    let body = format!(
        "<h1>Choose a new password</h1>\n<p>Your password was set by an administrator and must be changed before \
         you sign in.</p>\n{error_html}<form method=\"post\" action=\"/newPassword\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n{fields}{attributes}\
         <button type=\"submit\">Change password</button>\n</form>",
        request = html_escape(id),
        fields = new_password_fields(described),
    );
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page(status, "Choose a new password", &body)
}

/// ForgotPassword for `username` on the request's client: where the code
/// went, or the engine's message.
fn send_reset_code(engine: &Engine, request: &AuthorizeRequest, username: &str) -> Result<Option<String>, String> {
    engine
        .call::<op::ForgotPassword>(idp::ForgotPasswordRequest {
            client_id: Sensitive::new(request.client_id.clone()),
            username: Sensitive::new(username.to_owned()),
            secret_hash: secret_hash(engine, request, username),
            ..Default::default()
        })
        .map(|r| r.code_delivery_details.and_then(|d| d.destination))
        .map_err(|fail| fail.message)
}

/// `GET /forgotPassword?request=<id>`: the sign-in page's "Forgot your
/// password?" link.
pub(super) fn forgot_get(engine: &Engine, hosted: &Hosted, query: &BTreeMap<String, String>) -> Reply {
    let id = query.get("request").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    forgot_page(&id, request.login_hint.as_deref().unwrap_or(""), None)
}

/// `POST /forgotPassword`: ForgotPassword, then the reset page.
pub(super) fn forgot_post(engine: &Engine, hosted: &Hosted, form: &BTreeMap<String, String>) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let username = form.get("username").map(|s| s.trim().to_owned()).unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    if username.is_empty() {
        return forgot_page(&id, "", Some("Enter your username."));
    }
    match send_reset_code(engine, &request, &username) {
        Ok(destination) => {
            hosted.lock().pending.insert(id.clone(), Pending::Reset { username });
            reset_page(&id, destination.as_deref(), None, None)
        }
        Err(message) => forgot_page(&id, &username, Some(&message)),
    }
}

/// A correct password for a user whose password must be reset
/// (RESET_REQUIRED): a code is sent and the reset page shown, as Cognito's
/// hosted UI does.
pub(super) fn reset_required(
    engine: &Engine,
    hosted: &Hosted,
    id: &str,
    request: &AuthorizeRequest,
    user: &User,
) -> Reply {
    match send_reset_code(engine, request, &user.username) {
        Ok(destination) => {
            hosted.lock().pending.insert(id.to_owned(), Pending::Reset { username: user.username.clone() });
            let notice = "Your password must be reset before you sign in.";
            reset_page(id, destination.as_deref(), Some(notice), None)
        }
        Err(message) => sign_in_page(id, &user.username, Some(&message), &request.choices),
    }
}

/// `POST /confirmForgotPassword`: ConfirmForgotPassword for the user the
/// code was sent to on this request (then the sign-in page, with a
/// notice), or another code.
pub(super) fn confirm_forgot_post(engine: &Engine, hosted: &Hosted, form: &BTreeMap<String, String>) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    let username = match hosted.lock().pending.get(&id) {
        Some(Pending::Reset { username }) => username.clone(),
        _ => return expired_page(),
    };
    if form.get("action").map(String::as_str) == Some("resend") {
        return match send_reset_code(engine, &request, &username) {
            Ok(destination) => reset_page(&id, destination.as_deref(), Some("A new code has been sent."), None),
            Err(message) => reset_page(&id, None, None, Some(&message)),
        };
    }
    let code = form.get("code").map(|s| s.trim().to_owned()).unwrap_or_default();
    if code.is_empty() {
        return reset_page(&id, None, None, Some("Enter the code we sent you."));
    }
    let password = match new_password_of(form) {
        Ok(p) => p,
        Err(message) => return reset_page(&id, None, None, Some(message)),
    };
    if let Err(fail) = engine.call::<op::ConfirmForgotPassword>(idp::ConfirmForgotPasswordRequest {
        client_id: Sensitive::new(request.client_id.clone()),
        username: Sensitive::new(username.clone()),
        confirmation_code: code,
        password: Sensitive::new(password),
        secret_hash: secret_hash(engine, &request, &username),
        ..Default::default()
    }) {
        return reset_page(&id, None, None, Some(&fail.message));
    }
    hosted.lock().pending.remove(&id);
    let notice = "Your password has been reset. Sign in with your new password.";
    sign_in_page_with_notice(&id, &username, notice, &request.choices)
}

/// A correct temporary password (FORCE_CHANGE_PASSWORD): the page asking
/// for the new one.
pub(super) fn new_password_required(
    engine: &Engine,
    hosted: &Hosted,
    id: &str,
    request: &AuthorizeRequest,
    user_key: String,
    user: &User,
) -> Reply {
    let required = match engine.missing_required_attributes(&request.pool_id, user) {
        Ok(required) => required,
        Err(fail) => return sign_in_page(id, &user.username, Some(&fail.message), &request.choices),
    };
    let page = new_password_page(id, &required, None);
    hosted.lock().pending.insert(id.to_owned(), Pending::NewPassword { user_key, required });
    page
}

/// `POST /newPassword`: the engine's NEW_PASSWORD_REQUIRED answer (policy,
/// attributes, CONFIRMED), then the request goes on as after a password:
/// MFA, or signed in.
pub(super) fn new_password_post(
    engine: &Engine,
    hosted: &Hosted,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    let Some(Pending::NewPassword { user_key, required }) = hosted.lock().pending.get(&id).cloned() else {
        return expired_page();
    };
    let password = match new_password_of(form) {
        Ok(p) => p,
        Err(message) => return new_password_page(&id, &required, Some(message)),
    };
    let attributes: Vec<idp::AttributeType> = required
        .iter()
        .filter_map(|name| {
            let value = form.get(&format!("attribute.{name}")).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            value.map(|v| idp::AttributeType {
                name: name.clone(),
                value: Some(Sensitive::new(v)),
                ..Default::default()
            })
        })
        .collect();
    if let Some(missing) = required.iter().find(|name| !attributes.iter().any(|a| &a.name == *name)) {
        return new_password_page(&id, &required, Some(&format!("Enter a value for {missing}.")));
    }
    let user = match engine.set_new_password(&request.pool_id, &user_key, &password, &attributes) {
        Ok(user) => user,
        Err(fail) => return new_password_page(&id, &required, Some(&fail.message)),
    };
    hosted.lock().pending.remove(&id);
    after_password(engine, hosted, headers, &id, &request, user_key, &user)
}
