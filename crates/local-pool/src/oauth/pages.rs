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
use http::HeaderMap;

use super::{
    AuthorizeRequest, Hosted, Reply, expired_page, form_page, grant, html_escape, sign_in_page,
    sign_in_page_with_notice, start_session, with_cookie,
};
use crate::engine::Engine;
use crate::state::{Step, User};

/// Wrong MFA codes a page accepts before the user must sign in again.
const MFA_ATTEMPTS: u32 = 5;

/// What an authorize request is waiting for after the sign-in page.
#[derive(Clone)]
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
    /// MFA is required and the user has none: an authenticator app is
    /// being set up (`session` is the engine's MFA_SETUP session, after
    /// AssociateSoftwareToken); its first code is awaited.
    MfaSetup { session: String, user_key: String, wrong: u32 },
    /// Several factors and no preference: the user's choice among them is
    /// awaited (`session`: the engine's SELECT_MFA_TYPE session).
    SelectMfa { session: String, user_key: String, choices: Vec<ChallengeNameType> },
}

/// The step only: the engine's session ids stay out of Debug output.
impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::SignUp { .. } => "Pending::SignUp",
            Self::Mfa { .. } => "Pending::Mfa",
            Self::Reset { .. } => "Pending::Reset",
            Self::NewPassword { .. } => "Pending::NewPassword",
            Self::MfaSetup { .. } => "Pending::MfaSetup",
            Self::SelectMfa { .. } => "Pending::SelectMfa",
        })
    }
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

/// A labelled text field per attribute name (`attribute.<name>` in the
/// form), filled from `values`: the pool's required attributes on the
/// sign-up and new-password pages.
fn attribute_fields(names: &[String], values: &BTreeMap<String, String>, described: &str) -> String {
    names
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let value = values.get(&format!("attribute.{name}")).map(String::as_str).unwrap_or("");
            format!(
                "<label for=\"attribute-{n}\">{label}</label>\n\
                 <input id=\"attribute-{n}\" name=\"attribute.{name}\" type=\"text\" required \
                 value=\"{value}\"{described}>\n",
                label = html_escape(name),
                name = html_escape(name),
                value = html_escape(value),
            )
        })
        .collect()
}

/// The `attribute.<name>` values of `form` for `names`: the attributes, or
/// the first name left empty.
fn attributes_of(form: &BTreeMap<String, String>, names: &[String]) -> Result<Vec<idp::AttributeType>, String> {
    names
        .iter()
        .map(|name| {
            let value = form.get(&format!("attribute.{name}")).map(|v| v.trim().to_owned()).unwrap_or_default();
            if value.is_empty() {
                return Err(format!("Enter a value for {name}."));
            }
            Ok(idp::AttributeType { name: name.clone(), value: Some(Sensitive::new(value)), ..Default::default() })
        })
        .collect()
}

/// The pool's required attributes the sign-up page asks for besides the
/// username, email and password.
fn sign_up_attributes(engine: &Engine, request: &AuthorizeRequest) -> Vec<String> {
    let mut names = engine.required_attributes(&request.pool_id).unwrap_or_default();
    names.retain(|n| n != "email");
    names
}

/// The sign-up page: username, email, password, and the pool's other
/// required attributes (`extra`, filled from `form` after an error).
pub(super) fn sign_up_page(
    id: &str,
    username: &str,
    email: &str,
    extra: &[String],
    form: &BTreeMap<String, String>,
    error: Option<&str>,
) -> Reply {
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
         {attributes}<button type=\"submit\">Sign up</button>\n</form>\n\
         <p>Already have an account? <a href=\"/login?request={request_q}\">Sign in</a></p>",
        request = html_escape(id),
        request_q = html_escape(&super::percent_encode(id)),
        username = html_escape(username),
        email = html_escape(email),
        attributes = attribute_fields(extra, form, described),
    );
    form_page("Sign up", &body, error)
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
    form_page("Confirm your account", &body, error)
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
    form_page("Multi-factor authentication", &body, error)
}

/// `GET /signup?request=<id>`: the sign-up page of a pending request.
pub(super) fn sign_up_get(engine: &Engine, hosted: &Hosted, query: &BTreeMap<String, String>) -> Reply {
    let id = query.get("request").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    sign_up_page(&id, "", "", &sign_up_attributes(engine, &request), &BTreeMap::new(), None)
}

/// `POST /signup`: SignUp with the form's values.
pub(super) fn sign_up_post(engine: &Engine, hosted: &Hosted, form: &BTreeMap<String, String>) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let username = form.get("username").map(|s| s.trim().to_owned()).unwrap_or_default();
    let email = form.get("email").map(|s| s.trim().to_owned()).unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    let extra = sign_up_attributes(engine, &request);
    let again = |message: &str| sign_up_page(&id, &username, &email, &extra, form, Some(message));
    if username.is_empty() || password.is_empty() {
        return again("Enter a username and a password.");
    }
    let mut attributes = match attributes_of(form, &extra) {
        Ok(attributes) => attributes,
        Err(message) => return again(&message),
    };
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
        Err(fail) => again(&fail.message),
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
    match (outcome.challenge_name, outcome.session) {
        (Some(ChallengeNameType::SelectMfaType), Some(session)) => {
            let choices = match engine.lock().sessions.get(&session).map(|s| &s.step) {
                Some(Step::SelectMfa { choices }) => choices.clone(),
                _ => return again("Your session has expired. Sign in again."),
            };
            let page = select_mfa_page(id, &choices, None);
            hosted.lock().pending.insert(id.to_owned(), Pending::SelectMfa { session, user_key: key, choices });
            page
        }
        (Some(ChallengeNameType::MfaSetup), Some(session)) => {
            start_mfa_setup(engine, hosted, id, request, key, user, session)
        }
        (challenge, session) => code_page(hosted, id, key, challenge, session)
            .unwrap_or_else(|| again("This sign-in step is not supported by the local pool's hosted UI.")),
    }
}

/// The code page for an MFA challenge the engine issued (TOTP, or a code
/// it sent by SMS or email); `None` for another step.
fn code_page(
    hosted: &Hosted,
    id: &str,
    key: String,
    challenge: Option<ChallengeNameType>,
    session: Option<String>,
) -> Option<Reply> {
    match (challenge, session) {
        (
            Some(c @ (ChallengeNameType::SoftwareTokenMfa | ChallengeNameType::SmsMfa | ChallengeNameType::EmailOtp)),
            Some(session),
        ) => {
            hosted
                .lock()
                .pending
                .insert(id.to_owned(), Pending::Mfa { session, user_key: key, challenge: c.clone(), wrong: 0 });
            Some(mfa_page(id, &c, None))
        }
        _ => None,
    }
}

/// What a factor is called on the choice page.
fn factor_label(challenge: &ChallengeNameType) -> &'static str {
    match challenge {
        ChallengeNameType::SoftwareTokenMfa => "Authenticator app",
        ChallengeNameType::SmsMfa => "Text message (SMS)",
        ChallengeNameType::EmailOtp => "Email",
        _ => "Other",
    }
}

/// The "Choose how to verify" page: one radio button per enabled factor.
fn select_mfa_page(id: &str, choices: &[ChallengeNameType], error: Option<&str>) -> Reply {
    let (error_html, _) = error_block(error);
    let options: String = choices
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let checked = if n == 0 { " checked" } else { "" };
            format!(
                "<div><input type=\"radio\" id=\"factor-{n}\" name=\"factor\" value=\"{value}\"{checked}>\n\
                 <label class=\"inline\" for=\"factor-{n}\">{label}</label></div>\n",
                value = html_escape(c.as_str()),
                label = factor_label(c),
            )
        })
        .collect();
    let body = format!(
        "<h1>Choose how to verify</h1>\n{error_html}<form method=\"post\" action=\"/mfaSelect\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n\
         <fieldset><legend>Send or read a code with</legend>\n{options}</fieldset>\n\
         <button type=\"submit\">Continue</button>\n</form>",
        request = html_escape(id),
    );
    form_page("Choose how to verify", &body, error)
}

/// The authenticator set-up page: the secret (grouped for typing) and the
/// `otpauth://` URI, then the app's first code.
fn mfa_setup_page(id: &str, secret: &str, uri: &str, error: Option<&str>) -> Reply {
    let (error_html, described) = error_block(error);
    let grouped: Vec<String> =
        secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>();
    let body = format!(
        "<h1>Set up an authenticator app</h1>\n<p>This account needs multi-factor authentication. Add this key \
         to your authenticator app, then enter the code it shows.</p>\n\
         {qr}<p><code id=\"secret\">{grouped}</code></p>\n\
         <p><a id=\"otpauth\" href=\"{uri}\">Open in an authenticator app</a></p>\n\
         {error_html}<form method=\"post\" action=\"/mfaSetup\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n\
         <label for=\"code\">Code from the app</label>\n\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         required autofocus{described}>\n\
         <button type=\"submit\">Verify and sign in</button>\n</form>",
        qr = qr_svg(uri),
        grouped = html_escape(&grouped.join(" ")),
        uri = html_escape(uri),
        request = html_escape(id),
    );
    form_page("Set up an authenticator app", &body, error)
}

/// `uri` as a QR code for an authenticator app to scan: an inline SVG
/// (no scripts or external images on these pages), labelled for screen
/// readers; nothing when it cannot be drawn.
fn qr_svg(uri: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else { return String::new() };
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build();
    // Inline in HTML: without the XML declaration, with an accessible name.
    let svg = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]).replacen(
        "<svg ",
        "<svg id=\"qr\" role=\"img\" aria-label=\"QR code of the key for an authenticator app\" ",
        1,
    );
    format!("<p>{svg}</p>\n")
}

/// MFA_SETUP on the page: an authenticator app when the pool offers TOTP
/// (AssociateSoftwareToken on the engine's session); other factors must
/// be set up through the API.
fn start_mfa_setup(
    engine: &Engine,
    hosted: &Hosted,
    id: &str,
    request: &AuthorizeRequest,
    key: String,
    user: &User,
    session: String,
) -> Reply {
    let again = |message: &str| sign_in_page(id, &user.username, Some(message), &request.choices);
    let totp = matches!(
        engine.lock().sessions.get(&session).map(|s| &s.step),
        Some(Step::MfaSetup { choices, .. }) if choices.contains(&ChallengeNameType::SoftwareTokenMfa)
    );
    if !totp {
        engine.lock().sessions.remove(&session);
        return again(
            "This account must set up multi-factor authentication first. The local pool's hosted UI sets up \
             authenticator apps only, which this pool does not offer: set up the factor through the API.",
        );
    }
    let associated = engine.call::<op::AssociateSoftwareToken>(idp::AssociateSoftwareTokenRequest {
        session: Some(Sensitive::new(session)),
        ..Default::default()
    });
    let (secret, session) = match associated {
        Ok(idp::AssociateSoftwareTokenResponse { secret_code: Some(secret), session: Some(session), .. }) => {
            (secret.expose().clone(), session.expose().clone())
        }
        Ok(_) => return again("Your session has expired. Sign in again."),
        Err(fail) => return again(&fail.message),
    };
    let uri = otpauth_uri(engine, &request.pool_id, &user.username, &secret);
    hosted.lock().pending.insert(id.to_owned(), Pending::MfaSetup { session, user_key: key, wrong: 0 });
    mfa_setup_page(id, &secret, &uri, None)
}

/// `otpauth://totp/<issuer>:<username>?secret=…&issuer=…`, the issuer being
/// the pool's name (Cognito's hosted UI names the pool too).
fn otpauth_uri(engine: &Engine, pool_id: &str, username: &str, secret: &str) -> String {
    let issuer =
        engine.lock().pools.get(pool_id).and_then(|p| p.config.name.clone()).unwrap_or_else(|| "Cognito".into());
    let (i, u) = (super::percent_encode(&issuer), super::percent_encode(username));
    format!("otpauth://totp/{i}:{u}?secret={secret}&issuer={i}")
}

/// `POST /mfaSetup`: the authenticator's first code, checked against the
/// secret of the engine's MFA_SETUP session (RFC 6238, ±1 step); right, it
/// becomes the user's TOTP factor and the request ends signed in.
pub(super) fn mfa_setup_post(
    engine: &Engine,
    hosted: &Hosted,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    let Some(Pending::MfaSetup { session, user_key, wrong }) = hosted.lock().pending.get(&id).cloned() else {
        return expired_page();
    };
    let start_over = |message: &str| start_over(engine, hosted, &id, &session, &request, message);
    let now = engine.now();
    let given = form.get("code").map(|s| s.trim().to_owned()).unwrap_or_default();
    let (secret, username) = {
        let state = engine.lock();
        let auth = state.sessions.get(&session).filter(|s| s.expires >= now && s.user_key == user_key);
        let secret = match auth.map(|a| &a.step) {
            Some(Step::MfaSetup { secret: Some(secret), .. }) => secret.to_string(),
            _ => {
                drop(state);
                return start_over("Your session has expired. Sign in again.");
            }
        };
        let username = state
            .pools
            .get(&request.pool_id)
            .and_then(|p| p.users.get(&user_key))
            .map(|u| u.username.clone())
            .unwrap_or_default();
        (secret, username)
    };
    if !crate::mfa::totp_matches(&secret, &given, now) {
        if last_try(hosted, &id, wrong) {
            return start_over("Too many invalid codes. Sign in again.");
        }
        let uri = otpauth_uri(engine, &request.pool_id, &username, &secret);
        return mfa_setup_page(&id, &secret, &uri, Some(&crate::mfa::mismatch().message));
    }
    engine.lock().sessions.remove(&session);
    if let Err(fail) = engine.enable_totp(&request.pool_id, &user_key, Some(secret)) {
        return start_over(&fail.message);
    }
    finish(engine, hosted, headers, &id, &request, user_key)
}

/// `POST /mfaSelect`: the chosen factor's challenge (the code sent for SMS
/// and email), then the code page.
pub(super) fn select_mfa_post(engine: &Engine, hosted: &Hosted, form: &BTreeMap<String, String>) -> Reply {
    let id = form.get("request").cloned().unwrap_or_default();
    let Some(request) = request_of(engine, hosted, &id) else { return expired_page() };
    let Some(Pending::SelectMfa { session, user_key, choices }) = hosted.lock().pending.get(&id).cloned() else {
        return expired_page();
    };
    let chosen = form.get("factor").map(|f| ChallengeNameType::from(f.as_str()));
    let Some(chosen) = chosen.filter(|c| choices.contains(c)) else {
        return select_mfa_page(&id, &choices, Some("Choose one of the options."));
    };
    let now = engine.now();
    let user = {
        let mut state = engine.lock();
        let live = state.sessions.remove(&session).filter(|s| s.expires >= now && s.user_key == user_key);
        live.and_then(|_| state.pools.get(&request.pool_id)?.users.get(&user_key).cloned())
    };
    let again = |message: &str| {
        hosted.lock().pending.remove(&id);
        sign_in_page(&id, "", Some(message), &request.choices)
    };
    let Some(user) = user else { return again("Your session has expired. Sign in again.") };
    match engine.issue_mfa_challenge(&request.pool_id, &request.client_id, &user_key, &user, chosen) {
        Ok(o) => code_page(hosted, &id, user_key, o.challenge_name, o.session)
            .unwrap_or_else(|| again("This sign-in step is not supported by the local pool's hosted UI.")),
        Err(fail) => again(&fail.message),
    }
}

/// Gives up an MFA page's step: the request goes back to its sign-in page
/// with `message`, and the engine's session ends.
fn start_over(
    engine: &Engine,
    hosted: &Hosted,
    id: &str,
    session: &str,
    request: &AuthorizeRequest,
    message: &str,
) -> Reply {
    hosted.lock().pending.remove(id);
    engine.lock().sessions.remove(session);
    sign_in_page(id, "", Some(message), &request.choices)
}

/// A wrong code on an MFA page (`wrong` before it): whether it was the last
/// one allowed; if not, the request's count goes up.
fn last_try(hosted: &Hosted, id: &str, wrong: u32) -> bool {
    if wrong + 1 >= MFA_ATTEMPTS {
        return true;
    }
    if let Some(Pending::Mfa { wrong, .. } | Pending::MfaSetup { wrong, .. }) = hosted.lock().pending.get_mut(id) {
        *wrong += 1;
    }
    false
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
    let start_over = |message: &str| start_over(engine, hosted, &id, &session, &request, message);
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
        if last_try(hosted, &id, wrong) {
            return start_over("Too many invalid codes. Sign in again.");
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
    form_page("Forgot your password?", &body, error)
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
    form_page("Reset your password", &body, error)
}

/// The "Choose a new password" page after a temporary password, with a
/// field for each missing required attribute.
fn new_password_page(id: &str, required: &[String], form: &BTreeMap<String, String>, error: Option<&str>) -> Reply {
    let (error_html, described) = error_block(error);
    let attributes = attribute_fields(required, form, described);
    let body = format!(
        "<h1>Choose a new password</h1>\n<p>Your password was set by an administrator and must be changed before \
         you sign in.</p>\n{error_html}<form method=\"post\" action=\"/newPassword\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\n{fields}{attributes}\
         <button type=\"submit\">Change password</button>\n</form>",
        request = html_escape(id),
        fields = new_password_fields(described),
    );
    form_page("Choose a new password", &body, error)
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
    let page = new_password_page(id, &required, &BTreeMap::new(), None);
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
    let again = |message: &str| new_password_page(&id, &required, form, Some(message));
    let password = match new_password_of(form) {
        Ok(p) => p,
        Err(message) => return again(message),
    };
    let attributes = match attributes_of(form, &required) {
        Ok(attributes) => attributes,
        Err(message) => return again(&message),
    };
    let user = match engine.set_new_password(&request.pool_id, &user_key, &password, &attributes) {
        Ok(user) => user,
        Err(fail) => return again(&fail.message),
    };
    hosted.lock().pending.remove(&id);
    after_password(engine, hosted, headers, &id, &request, user_key, &user)
}
