//! `amplify-auth quickstart`: the whole API on a local pool started in this
//! process, with no setup and no AWS account. Each step prints the call and
//! the `nextStep` it returned, so the output doubles as a tour of the API.

use std::collections::BTreeMap;
use std::io::Write;

use amplify_auth::{
    Auth, AuthConfig, ConfirmOptions, MfaPreference, SignInOptions, SignInStep, SignUpOptions, SignUpStep,
    UpdateAttributeStep,
};
use anyhow::{Context, Result, bail};
use cognito_wire::cognito_idp::{self as idp, operation as op};
use local_pool::{ClientOptions, LocalPool};

const USERNAME: &str = "quickstart-user";
const PASSWORD: &str = "Quickstart-Passw0rd!";

struct Tour<'a> {
    out: &'a mut dyn Write,
    n: usize,
}

impl Tour<'_> {
    fn step(&mut self, call: &str) -> Result<()> {
        self.n += 1;
        writeln!(self.out, "\n{:>2}. {call}", self.n)?;
        Ok(())
    }

    fn say(&mut self, line: impl AsRef<str>) -> Result<()> {
        writeln!(self.out, "    {}", line.as_ref())?;
        Ok(())
    }
}

fn sign_in_step(step: &SignInStep) -> String {
    match step {
        SignInStep::ConfirmSignInWithSmsCode { code_delivery_details }
        | SignInStep::ConfirmSignInWithEmailCode { code_delivery_details } => format!(
            "{step} (code sent by {} to {})",
            code_delivery_details.delivery_medium.as_deref().unwrap_or("?"),
            code_delivery_details.destination.as_deref().unwrap_or("?")
        ),
        other => other.to_string(),
    }
}

/// Runs the tour, writing to `out`.
pub(crate) async fn run(out: &mut dyn Write) -> Result<()> {
    let pool = LocalPool::start().await.context("starting the local pool")?;
    let result = tour(&pool, out).await;
    pool.stop().await;
    result
}

async fn tour(pool: &LocalPool, out: &mut dyn Write) -> Result<()> {
    let pool_id = pool.create_pool("quickstart").map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let client = pool.create_client(&pool_id, ClientOptions::default()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut t = Tour { out, n: 0 };
    writeln!(t.out, "amplify-auth quickstart: a local Cognito-compatible user pool at {}", pool.endpoint())?;
    writeln!(t.out, "user pool {pool_id}, app client {}", client.client_id)?;

    let config = AuthConfig::builder(&pool_id, &client.client_id).user_pool_endpoint(pool.endpoint()).build()?;
    let auth = Auth::new(config)?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    let _listener = auth.hub().listen_auth(move |event: &hub_events::AuthEvent| {
        if let Ok(mut seen) = sink.lock() {
            seen.push(event.as_str().to_owned());
        }
    });
    let code_for = |user: &str| pool.last_code(&pool_id, user).context("no code in the outbox");

    // Sign up and confirm.
    t.step(&format!("auth.sign_up({USERNAME:?}, password, email = quickstart@example.com)"))?;
    let options = SignUpOptions {
        user_attributes: BTreeMap::from([("email".to_owned(), "quickstart@example.com".to_owned())]),
        ..Default::default()
    };
    let signed_up = auth.sign_up(USERNAME, PASSWORD, options).await?;
    let SignUpStep::ConfirmSignUp { code_delivery_details } = &signed_up.next_step else {
        bail!("expected CONFIRM_SIGN_UP, got {:?}", signed_up.next_step)
    };
    t.say(format!(
        "nextStep: CONFIRM_SIGN_UP (code sent by {} to {}); user id {}",
        code_delivery_details.delivery_medium.as_deref().unwrap_or("?"),
        code_delivery_details.destination.as_deref().unwrap_or("?"),
        signed_up.user_id
    ))?;
    let code = code_for(USERNAME)?;
    t.say(format!("the local pool's outbox has the code: {code}"))?;
    t.step(&format!("auth.confirm_sign_up({USERNAME:?}, {code:?})"))?;
    let confirmed = auth.confirm_sign_up(USERNAME, &code, false).await?;
    t.say(format!("nextStep: {:?}", confirmed.next_step))?;

    // Sign in with SRP.
    t.step(&format!("auth.sign_in({USERNAME:?}, password)  // USER_SRP_AUTH: the password never leaves"))?;
    let signed_in = auth.sign_in(USERNAME, Some(PASSWORD), SignInOptions::default()).await?;
    t.say(format!("isSignedIn: {}, nextStep: {}", signed_in.is_signed_in, sign_in_step(&signed_in.next_step)))?;

    // The session.
    t.step("auth.fetch_auth_session(false)")?;
    let session = auth.fetch_auth_session(false).await?;
    let tokens = session.tokens.context("no tokens after sign-in")?;
    let claims = tokens.access_token.claims();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    t.say(format!("username: {}, sub: {}", tokens.username, session_sub(&tokens)))?;
    t.say(format!(
        "access token: token_use={}, scope={}, expires in {} s",
        claims.token_use.as_ref().map_or("?", |u| u.as_str()),
        claims.scope.as_deref().unwrap_or("?"),
        claims.exp.unwrap_or(0) - now
    ))?;
    if let Some(id) = &tokens.id_token {
        let email = id.claims().extra.get("email").and_then(|v| v.as_str()).unwrap_or("?");
        t.say(format!("ID token: email={email}, aud={}", id.claims().aud.join(",")))?;
    }
    let first_iat = claims.iat;

    t.step("auth.fetch_auth_session(true)  // force a refresh (GetTokensFromRefreshToken)")?;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // a new iat
    let refreshed = auth.fetch_auth_session(true).await?.tokens.context("no tokens after refresh")?;
    t.say(format!(
        "new access token issued at {} (was {}); the refresh token is kept and never exposed",
        refreshed.access_token.claims().iat.unwrap_or(0),
        first_iat.unwrap_or(0)
    ))?;

    // An attribute change that needs verification.
    t.step("auth.update_user_attributes({email: quickstart2@example.com})")?;
    let update = BTreeMap::from([("email".to_owned(), "quickstart2@example.com".to_owned())]);
    let updated = auth.update_user_attributes(&update, None).await?;
    let email = updated.get("email").context("no result for email")?;
    match &email.next_step {
        UpdateAttributeStep::ConfirmAttributeWithCode { code_delivery_details } => t.say(format!(
            "email: isUpdated={}, nextStep: CONFIRM_ATTRIBUTE_WITH_CODE (sent to {})",
            email.is_updated,
            code_delivery_details.destination.as_deref().unwrap_or("?")
        ))?,
        UpdateAttributeStep::Done => t.say("email: nextStep: DONE")?,
    }
    let code = code_for(USERNAME)?;
    t.step(&format!("auth.confirm_user_attribute(\"email\", {code:?})"))?;
    auth.confirm_user_attribute("email", &code).await?;
    let attributes = auth.fetch_user_attributes().await?;
    t.say(format!(
        "email: {} (verified: {})",
        attributes.get("email").map_or("?", String::as_str),
        attributes.get("email_verified").map_or("?", String::as_str)
    ))?;

    // TOTP MFA.
    pool.engine()
        .call::<op::SetUserPoolMfaConfig>(idp::SetUserPoolMfaConfigRequest {
            user_pool_id: pool_id.clone(),
            mfa_configuration: Some(idp::UserPoolMfaType::Optional),
            software_token_mfa_configuration: Some(idp::SoftwareTokenMfaConfigType {
                enabled: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        })
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    t.step("auth.set_up_totp()  // the pool now offers TOTP MFA")?;
    let totp = auth.set_up_totp().await?;
    let uri = totp.setup_uri("amplify-auth quickstart", None);
    t.say(format!("scan this with an authenticator app ({uri}):"))?;
    let qr = qrcode::QrCode::new(uri.as_bytes())?;
    let drawn = qr
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build();
    for line in drawn.lines() {
        writeln!(t.out, "    {line}")?;
    }
    let secret = totp.shared_secret.expose_secret().to_owned();
    let code = local_pool::current_totp(&secret, now_secs()).context("computing the TOTP code")?;
    t.step(&format!("auth.verify_totp_setup({code:?})  // the code the app shows, computed here for the demo"))?;
    auth.verify_totp_setup(&code, Some("quickstart")).await?;
    auth.update_mfa_preference(None, Some(MfaPreference::Preferred), None).await?;
    let prefs = auth.fetch_mfa_preference().await?;
    t.say(format!(
        "MFA enabled: {:?}, preferred: {:?}",
        prefs.enabled.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        prefs.preferred.map(|m| m.as_str())
    ))?;

    t.step("auth.sign_out(false)  // revokes the refresh token")?;
    let out = auth.sign_out(false).await?;
    t.say(format!(
        "signed out; revoke error: {}",
        out.revoke_token_error.as_ref().map_or("none".to_owned(), ToString::to_string)
    ))?;

    t.step(&format!("auth.sign_in({USERNAME:?}, password)  // now with MFA"))?;
    let signed_in = auth.sign_in(USERNAME, Some(PASSWORD), SignInOptions::default()).await?;
    t.say(format!("isSignedIn: {}, nextStep: {}", signed_in.is_signed_in, sign_in_step(&signed_in.next_step)))?;
    if signed_in.next_step != SignInStep::ConfirmSignInWithTotpCode {
        bail!("expected CONFIRM_SIGN_IN_WITH_TOTP_CODE");
    }
    let code = local_pool::current_totp(&secret, now_secs()).context("computing the TOTP code")?;
    t.step(&format!("auth.confirm_sign_in({code:?})"))?;
    let done = match auth.confirm_sign_in(&code, ConfirmOptions::default()).await {
        Ok(done) => done,
        // A server may accept each code once; the step stays answerable,
        // so wait for the next 30 s window.
        Err(err) if err.is_service("CodeMismatchException") => {
            let wait = 30 - now_secs().rem_euclid(30);
            t.say(format!("{err}; answering again with the next code in {wait} s"))?;
            tokio::time::sleep(std::time::Duration::from_secs(wait as u64)).await;
            let code = local_pool::current_totp(&secret, now_secs()).context("computing the TOTP code")?;
            auth.confirm_sign_in(&code, ConfirmOptions::default()).await?
        }
        Err(err) => return Err(err.into()),
    };
    t.say(format!("isSignedIn: {}, nextStep: {}", done.is_signed_in, sign_in_step(&done.next_step)))?;
    let user = auth.get_current_user().await?;
    t.say(format!("current user: {} ({})", user.username, user.user_id))?;

    t.step("auth.sign_out(false)")?;
    auth.sign_out(false).await?;
    t.say(format!("signed in: {}", auth.fetch_auth_session(false).await?.tokens.is_some()))?;
    auth.hub().flush();
    let events = seen.lock().map(|s| s.join(", ")).unwrap_or_default();
    writeln!(t.out, "\nHub events on the auth channel, in order: {events}")?;
    writeln!(t.out, "\ndone: every step above ran against the local pool, over HTTP on 127.0.0.1.")?;
    Ok(())
}

fn session_sub(tokens: &amplify_auth::AuthTokens) -> &str {
    tokens.user_sub.as_deref().unwrap_or("?")
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
