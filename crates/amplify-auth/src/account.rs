//! Sign-up, password recovery and devices.

use std::collections::BTreeMap;
use std::fmt;

use cognito_wire::Sensitive;
use cognito_wire::cognito_idp::{
    AttributeType, ChangePasswordRequest, CodeDeliveryDetailsType, ConfirmForgotPasswordRequest, ConfirmSignUpRequest,
    DeviceRememberedStatusType, ForgetDeviceRequest, ForgotPasswordRequest, ListDevicesRequest,
    ResendConfirmationCodeRequest, SignUpRequest, UpdateDeviceStatusRequest, operation as op,
};
use serde::Serialize;
use token_store::SecretString;
use zeroize::Zeroizing;

use crate::client::{Auth, SignInOptions};
use crate::config::AuthFlow;
use crate::error::AuthError;
use crate::now_ms;
use crate::steps::{CodeDeliveryDetails, SignInOutput};

/// Auto sign-in state kept between `sign_up`/`confirm_sign_up` and
/// `auto_sign_in` (in memory, with the 3-minute lifetime of the flow).
pub(crate) struct AutoSignIn {
    username: String,
    password: Option<Zeroizing<String>>,
    /// The sign-up `Session` (USER_AUTH hand-off), renewed by ConfirmSignUp.
    session: Option<SecretString>,
    /// Sign in with USER_AUTH and the session instead of the password.
    user_auth: bool,
    confirmed: bool,
    expires_at_ms: i64,
}

/// Options for [`Auth::sign_up`].
#[derive(Clone, Debug, Default)]
pub struct SignUpOptions {
    /// User attributes (`email`, `phone_number`, `custom:...`).
    pub user_attributes: BTreeMap<String, String>,
    /// Validation data for the pre sign-up trigger.
    pub validation_data: BTreeMap<String, String>,
    /// `ClientMetadata` for Lambda triggers.
    pub client_metadata: Option<BTreeMap<String, String>>,
    /// Sign in automatically once the account is confirmed (then call
    /// [`Auth::auto_sign_in`] when the step is `COMPLETE_AUTO_SIGN_IN`).
    pub auto_sign_in: bool,
    /// With [`AuthFlow::UserAuth`], auto sign-in uses the `Session` that
    /// `SignUp`/`ConfirmSignUp` return (the confirmation code is the first
    /// factor); otherwise it signs in with the password.
    pub auto_sign_in_flow: Option<AuthFlow>,
}

/// Amplify's `signUpStep`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "signUpStep", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignUpStep {
    /// Enter the code sent (`confirm_sign_up`).
    ConfirmSignUp {
        /// Where it went.
        code_delivery_details: CodeDeliveryDetails,
    },
    /// Call [`Auth::auto_sign_in`].
    CompleteAutoSignIn,
    /// Nothing left to do.
    Done,
}

/// The result of [`Auth::sign_up`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignUpOutput {
    /// Whether the account is confirmed.
    pub is_sign_up_complete: bool,
    /// The user's `sub`.
    pub user_id: String,
    /// What to do next.
    pub next_step: SignUpStep,
}

/// The result of [`Auth::confirm_sign_up`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmSignUpOutput {
    /// Always true on success.
    pub is_sign_up_complete: bool,
    /// `DONE`, or `COMPLETE_AUTO_SIGN_IN` when auto sign-in is armed.
    pub next_step: SignUpStep,
}

/// Alias kept for readers of Amplify's docs.
pub type AutoSignInStep = SignUpStep;

/// Amplify's `resetPasswordStep`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "resetPasswordStep", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResetPasswordStep {
    /// Enter the code and a new password (`confirm_reset_password`).
    ConfirmResetPasswordWithCode {
        /// Where the code went.
        code_delivery_details: CodeDeliveryDetails,
    },
    /// Done.
    Done,
}

/// The result of [`Auth::reset_password`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetPasswordOutput {
    /// Whether the reset is complete (never, until confirmed).
    pub is_password_reset: bool,
    /// What to do next.
    pub next_step: ResetPasswordStep,
}

/// A device of the signed-in user.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceInfo {
    /// The device key.
    pub id: String,
    /// `device_name`, if set.
    pub name: Option<String>,
    /// Every device attribute.
    pub attributes: BTreeMap<String, String>,
    /// Created, last modified, last authenticated (epoch seconds).
    pub created_at: Option<f64>,
    /// Last modified (epoch seconds).
    pub last_modified_at: Option<f64>,
    /// Last authenticated (epoch seconds).
    pub last_authenticated_at: Option<f64>,
}

/// One page of [`Auth::fetch_devices`].
#[derive(Clone, Debug, PartialEq)]
pub struct DevicePage {
    /// The devices.
    pub devices: Vec<DeviceInfo>,
    /// Pass it back for the next page; `None` on the last.
    pub next_token: Option<String>,
}

impl fmt::Debug for AutoSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutoSignIn").field("username", &self.username).finish_non_exhaustive()
    }
}

pub(crate) fn delivery(details: Option<CodeDeliveryDetailsType>) -> CodeDeliveryDetails {
    details.map_or_else(CodeDeliveryDetails::default, |d| CodeDeliveryDetails {
        delivery_medium: d.delivery_medium.map(|m| m.to_string()),
        destination: d.destination,
        attribute_name: d.attribute_name,
    })
}

fn attributes(map: &BTreeMap<String, String>) -> Option<Vec<AttributeType>> {
    (!map.is_empty()).then(|| {
        map.iter()
            .map(|(k, v)| AttributeType { name: k.clone(), value: Some(v.as_str().into()), ..Default::default() })
            .collect()
    })
}

const AUTO_SIGN_IN_LIFETIME_MS: i64 = 3 * 60 * 1000;

/// How often auto sign-in retries while a confirmation link is pending
/// (Amplify: 5 s).
pub(crate) const LINK_POLL: std::time::Duration = std::time::Duration::from_secs(5);

impl Auth {
    fn secret_hash_for(&self, username: &str) -> Result<Option<Sensitive<String>>, AuthError> {
        match self.shared.config.client_secret() {
            Some(secret) => Ok(Some(Sensitive::new(
                srp_core::secret_hash(secret.expose_secret(), username, self.shared.config.client_id())?
                    .as_str()
                    .to_owned(),
            ))),
            None => Ok(None),
        }
    }

    fn endpoint(&self) -> &str {
        self.shared.config.user_pool_endpoint()
    }

    /// Creates an account (Amplify's `signUp`).
    pub async fn sign_up(
        &self,
        username: &str,
        password: &str,
        options: SignUpOptions,
    ) -> Result<SignUpOutput, AuthError> {
        if username.is_empty() {
            return Err(AuthError::validation("username", "must not be empty"));
        }
        if password.is_empty() {
            return Err(AuthError::validation("password", "must not be empty"));
        }
        let request = SignUpRequest {
            client_id: self.shared.config.client_id().into(),
            username: username.into(),
            password: Some(password.into()),
            secret_hash: self.secret_hash_for(username)?,
            user_attributes: attributes(&options.user_attributes),
            validation_data: attributes(&options.validation_data),
            client_metadata: self.metadata_or(options.client_metadata.clone()),
            ..Default::default()
        };
        let out = self.shared.caller.call::<op::SignUp>(self.endpoint(), "signUp", &request).await?;
        if options.auto_sign_in
            && let Ok(mut slot) = self.shared.auto_sign_in.lock()
        {
            *slot = Some(AutoSignIn {
                username: username.to_owned(),
                password: Some(Zeroizing::new(password.to_owned())),
                session: out.session.clone().map(|s| SecretString::new(s.into_inner())),
                user_auth: options.auto_sign_in_flow == Some(AuthFlow::UserAuth),
                confirmed: out.user_confirmed,
                expires_at_ms: now_ms().saturating_add(AUTO_SIGN_IN_LIFETIME_MS),
            });
        }
        let link = self.shared.config.sign_up_verification_method() == "link";
        let next_step = match (out.user_confirmed, options.auto_sign_in) {
            (true, true) => SignUpStep::CompleteAutoSignIn,
            (true, false) => SignUpStep::Done,
            // With links, auto sign-in waits for the person to follow it.
            (false, true) if link => SignUpStep::CompleteAutoSignIn,
            (false, _) => SignUpStep::ConfirmSignUp { code_delivery_details: delivery(out.code_delivery_details) },
        };
        Ok(SignUpOutput { is_sign_up_complete: out.user_confirmed, user_id: out.user_sub, next_step })
    }

    /// Confirms an account with the code sent (Amplify's `confirmSignUp`).
    pub async fn confirm_sign_up(
        &self,
        username: &str,
        code: &str,
        force_alias_creation: bool,
    ) -> Result<ConfirmSignUpOutput, AuthError> {
        let session = self.shared.auto_sign_in.lock().ok().and_then(|slot| match slot.as_ref() {
            Some(auto) if auto.username == username && auto.user_auth => {
                auto.session.as_ref().map(|s| Sensitive::new(s.expose_secret().to_owned()))
            }
            _ => None,
        });
        let request = ConfirmSignUpRequest {
            client_id: self.shared.config.client_id().into(),
            username: username.into(),
            confirmation_code: code.trim().to_owned(),
            force_alias_creation: force_alias_creation.then_some(true),
            secret_hash: self.secret_hash_for(username)?,
            session,
            client_metadata: self.metadata_or(None),
            ..Default::default()
        };
        let out = self.shared.caller.call::<op::ConfirmSignUp>(self.endpoint(), "confirmSignUp", &request).await?;
        let armed = self.shared.auto_sign_in.lock().ok().is_some_and(|mut slot| match slot.as_mut() {
            Some(auto) if auto.username == username && auto.expires_at_ms > now_ms() => {
                auto.confirmed = true;
                if let Some(session) = out.session.clone() {
                    auto.session = Some(SecretString::new(session.into_inner()));
                }
                true
            }
            _ => false,
        });
        let next_step = if armed { SignUpStep::CompleteAutoSignIn } else { SignUpStep::Done };
        Ok(ConfirmSignUpOutput { is_sign_up_complete: true, next_step })
    }

    /// Sends the sign-up code again (Amplify's `resendSignUpCode`).
    pub async fn resend_sign_up_code(&self, username: &str) -> Result<CodeDeliveryDetails, AuthError> {
        let request = ResendConfirmationCodeRequest {
            client_id: self.shared.config.client_id().into(),
            username: username.into(),
            secret_hash: self.secret_hash_for(username)?,
            client_metadata: self.metadata_or(None),
            ..Default::default()
        };
        let out = self
            .shared
            .caller
            .call::<op::ResendConfirmationCode>(self.endpoint(), "resendSignUpCode", &request)
            .await?;
        Ok(delivery(out.code_delivery_details))
    }

    /// Signs in the user who just signed up with `auto_sign_in` (Amplify's
    /// `autoSignIn`), once the account is confirmed.
    pub async fn auto_sign_in(&self) -> Result<SignInOutput, AuthError> {
        let auto = self.shared.auto_sign_in.lock().ok().and_then(|mut slot| slot.take());
        let Some(auto) = auto else {
            return Err(AuthError::invalid_state("auto sign-in is not armed: call sign_up with auto_sign_in first"));
        };
        if auto.expires_at_ms <= now_ms() {
            return Err(AuthError::invalid_state("auto sign-in expired (3 minutes); call sign_in"));
        }
        if !auto.confirmed && self.shared.config.sign_up_verification_method() == "link" {
            return self.poll_sign_in(auto).await;
        }
        if !auto.confirmed {
            let username = auto.username.clone();
            if let Ok(mut slot) = self.shared.auto_sign_in.lock() {
                *slot = Some(auto);
            }
            return Err(AuthError::invalid_state(format!("confirm the sign-up of {username} first")));
        }
        if auto.user_auth
            && let Some(session) = &auto.session
        {
            return self.sign_in_with_sign_up_session(&auto.username, session.expose_secret()).await;
        }
        let password = auto.password.as_ref().map(|p| p.as_str());
        self.sign_in(&auto.username, password, SignInOptions::default()).await
    }

    /// Link verification: sign in every [`LINK_POLL`] until the account is
    /// confirmed (the sign-in stops answering `CONFIRM_SIGN_UP`) or the
    /// 3 minutes of the auto sign-in run out (Amplify's behaviour).
    async fn poll_sign_in(&self, auto: AutoSignIn) -> Result<SignInOutput, AuthError> {
        let password = auto.password.as_ref().map(|p| p.as_str());
        loop {
            let out = self.sign_in(&auto.username, password, SignInOptions::default()).await?;
            if out.next_step != crate::SignInStep::ConfirmSignUp {
                return Ok(out);
            }
            let left = auto.expires_at_ms.saturating_sub(now_ms());
            if left <= 0 {
                return Err(AuthError::invalid_state(
                    "the confirmation link was not followed within 3 minutes; call sign_in",
                ));
            }
            let wait = LINK_POLL.min(std::time::Duration::from_millis(u64::try_from(left).unwrap_or(0)));
            tokio::time::sleep(wait).await;
        }
    }

    /// Starts a password reset (Amplify's `resetPassword`): a code is sent.
    pub async fn reset_password(&self, username: &str) -> Result<ResetPasswordOutput, AuthError> {
        let request = ForgotPasswordRequest {
            client_id: self.shared.config.client_id().into(),
            username: username.into(),
            secret_hash: self.secret_hash_for(username)?,
            client_metadata: self.metadata_or(None),
            ..Default::default()
        };
        let out = self.shared.caller.call::<op::ForgotPassword>(self.endpoint(), "resetPassword", &request).await?;
        Ok(ResetPasswordOutput {
            is_password_reset: false,
            next_step: ResetPasswordStep::ConfirmResetPasswordWithCode {
                code_delivery_details: delivery(out.code_delivery_details),
            },
        })
    }

    /// Finishes a password reset with the code and the new password.
    pub async fn confirm_reset_password(
        &self,
        username: &str,
        code: &str,
        new_password: &str,
    ) -> Result<(), AuthError> {
        let request = ConfirmForgotPasswordRequest {
            client_id: self.shared.config.client_id().into(),
            username: username.into(),
            confirmation_code: code.trim().to_owned(),
            password: new_password.into(),
            secret_hash: self.secret_hash_for(username)?,
            client_metadata: self.metadata_or(None),
            ..Default::default()
        };
        self.shared.caller.call::<op::ConfirmForgotPassword>(self.endpoint(), "confirmResetPassword", &request).await?;
        Ok(())
    }

    /// Changes the signed-in user's password (Amplify's `updatePassword`).
    pub async fn update_password(&self, old_password: &str, new_password: &str) -> Result<(), AuthError> {
        let access_token = self.access_token().await?;
        let request = ChangePasswordRequest {
            access_token: Sensitive::new(access_token),
            previous_password: Some(old_password.into()),
            proposed_password: new_password.into(),
            ..Default::default()
        };
        self.shared.caller.call::<op::ChangePassword>(self.endpoint(), "updatePassword", &request).await?;
        Ok(())
    }

    async fn current_device_key(&self) -> Result<Option<String>, AuthError> {
        let user = self.get_current_user().await?;
        Ok(self.shared.store.load_device(&user.username).await?.map(|d| d.device_key))
    }

    /// Marks this device as remembered (Amplify's `rememberDevice`).
    pub async fn remember_device(&self) -> Result<(), AuthError> {
        let access_token = self.access_token().await?;
        let device_key = self
            .current_device_key()
            .await?
            .ok_or_else(|| AuthError::invalid_state("this client has no device key (device tracking is off)"))?;
        let request = UpdateDeviceStatusRequest {
            access_token: Sensitive::new(access_token),
            device_key,
            device_remembered_status: Some(DeviceRememberedStatusType::Remembered),
            ..Default::default()
        };
        self.shared.caller.call::<op::UpdateDeviceStatus>(self.endpoint(), "rememberDevice", &request).await?;
        Ok(())
    }

    /// Forgets a device (Amplify's `forgetDevice`): this one when
    /// `device_key` is `None` (its keys are then removed locally too).
    pub async fn forget_device(&self, device_key: Option<&str>) -> Result<(), AuthError> {
        let access_token = self.access_token().await?;
        let own = self.current_device_key().await?;
        let key = match (device_key, &own) {
            (Some(k), _) => k.to_owned(),
            (None, Some(k)) => k.clone(),
            (None, None) => return Err(AuthError::invalid_state("this client has no device key to forget")),
        };
        let request = ForgetDeviceRequest {
            access_token: Some(Sensitive::new(access_token)),
            device_key: key.clone(),
            ..Default::default()
        };
        self.shared.caller.call::<op::ForgetDevice>(self.endpoint(), "forgetDevice", &request).await?;
        if own.as_deref() == Some(key.as_str()) {
            let user = self.get_current_user().await?;
            self.shared.store.clear_device(&user.username).await?;
        }
        Ok(())
    }

    /// One page of the user's devices (Amplify's `fetchDevices`, which has
    /// no pagination; pass `next_token` back for the next page).
    pub async fn fetch_devices(&self, limit: Option<i32>, next_token: Option<String>) -> Result<DevicePage, AuthError> {
        let access_token = self.access_token().await?;
        let request = ListDevicesRequest {
            access_token: Sensitive::new(access_token),
            limit: Some(limit.unwrap_or(60).clamp(1, 60)),
            pagination_token: next_token,
            ..Default::default()
        };
        let out = self.shared.caller.call::<op::ListDevices>(self.endpoint(), "fetchDevices", &request).await?;
        let devices = out
            .devices
            .unwrap_or_default()
            .into_iter()
            .map(|d| {
                let attributes: BTreeMap<String, String> = d
                    .device_attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| {
                        let value = a.value.map(Sensitive::into_inner).unwrap_or_default();
                        (a.name, value)
                    })
                    .collect();
                DeviceInfo {
                    id: d.device_key.unwrap_or_default(),
                    name: attributes.get("device_name").cloned(),
                    attributes,
                    created_at: d.device_create_date.map(|t| t.as_f64()),
                    last_modified_at: d.device_last_modified_date.map(|t| t.as_f64()),
                    last_authenticated_at: d.device_last_authenticated_date.map(|t| t.as_f64()),
                }
            })
            .collect();
        Ok(DevicePage { devices, next_token: out.pagination_token })
    }
}
