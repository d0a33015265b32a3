//! The signed-in user's account: attributes, MFA settings, deletion.
//! Every call gets a valid access token first (refreshing when needed) and
//! fails with [`AuthError::NotSignedIn`] when nobody is signed in.

use std::collections::BTreeMap;

use cognito_wire::Sensitive;
use cognito_wire::cognito_idp::{
    AssociateSoftwareTokenRequest, AttributeType, DeleteUserAttributesRequest, DeleteUserRequest, EmailMfaSettingsType,
    GetUserAttributeVerificationCodeRequest, GetUserRequest, GetUserResponse, SMSMfaSettingsType,
    SetUserMFAPreferenceRequest, SoftwareTokenMfaSettingsType, UpdateUserAttributesRequest, VerifySoftwareTokenRequest,
    VerifySoftwareTokenResponseType, VerifyUserAttributeRequest, operation as op,
};
use hub_events::AuthEvent;
use serde::Serialize;
use token_store::SecretString;

use crate::account::delivery;
use crate::client::Auth;
use crate::error::AuthError;
use crate::steps::{CodeDeliveryDetails, MfaType, TotpSetupDetails};

/// Amplify's `updateAttributeStep`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "updateAttributeStep", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UpdateAttributeStep {
    /// Confirm with the code sent (`confirm_user_attribute`).
    ConfirmAttributeWithCode {
        /// Where it went.
        code_delivery_details: CodeDeliveryDetails,
    },
    /// Updated.
    Done,
}

/// The outcome for one attribute of [`Auth::update_user_attributes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateAttributeOutput {
    /// Whether the new value is in effect (false while it awaits a code).
    pub is_updated: bool,
    /// What to do next.
    pub next_step: UpdateAttributeStep,
}

/// What [`Auth::get_user_data`] returns.
#[derive(Clone, PartialEq, Eq)]
pub struct UserData {
    /// The user's username.
    pub username: String,
    /// Every attribute, by name.
    pub attributes: BTreeMap<String, String>,
    /// Enabled (`UserMFASettingList`) and preferred (`PreferredMfaSetting`)
    /// MFA factors.
    pub mfa: MfaPreferences,
}

impl std::fmt::Debug for UserData {
    // Attribute values are personal data: names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserData")
            .field("username", &self.username)
            .field("attributes", &self.attributes.keys().collect::<Vec<_>>())
            .field("mfa", &self.mfa)
            .finish()
    }
}

/// A per-factor MFA preference (Amplify's `MFAPreference`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaPreference {
    /// Enabled.
    Enabled,
    /// Disabled.
    Disabled,
    /// Enabled and preferred.
    Preferred,
    /// Enabled, not preferred.
    NotPreferred,
}

/// What [`Auth::fetch_mfa_preference`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MfaPreferences {
    /// Enabled factors.
    pub enabled: Vec<MfaType>,
    /// The preferred factor.
    pub preferred: Option<MfaType>,
}

fn attributes_of(list: Vec<AttributeType>) -> BTreeMap<String, String> {
    list.into_iter().map(|a| (a.name, a.value.map(Sensitive::into_inner).unwrap_or_default())).collect()
}

fn mfa_of(user: &GetUserResponse) -> MfaPreferences {
    MfaPreferences {
        enabled: user.user_mfa_setting_list.iter().flatten().filter_map(|m| MfaType::parse(m)).collect(),
        preferred: user.preferred_mfa_setting.as_deref().and_then(MfaType::parse),
    }
}

fn settings(pref: Option<MfaPreference>) -> Option<(Option<bool>, Option<bool>)> {
    pref.map(|p| match p {
        MfaPreference::Enabled => (Some(true), None),
        MfaPreference::Disabled => (Some(false), Some(false)),
        MfaPreference::Preferred => (Some(true), Some(true)),
        MfaPreference::NotPreferred => (Some(true), Some(false)),
    })
}

impl Auth {
    fn user_endpoint(&self) -> &str {
        self.shared.config.user_pool_endpoint()
    }

    /// The user's attributes (Amplify's `fetchUserAttributes`).
    pub async fn fetch_user_attributes(&self) -> Result<BTreeMap<String, String>, AuthError> {
        Ok(attributes_of(self.get_user("fetchUserAttributes").await?.user_attributes))
    }

    /// `GetUser` for the signed-in user; `api` names the calling API in
    /// the user agent.
    async fn get_user(&self, api: &'static str) -> Result<GetUserResponse, AuthError> {
        let access_token = Sensitive::new(self.access_token().await?);
        let request = GetUserRequest { access_token, ..Default::default() };
        self.shared.caller.call::<op::GetUser>(self.user_endpoint(), api, &request).await
    }

    /// Updates attributes (Amplify's `updateUserAttributes`): per
    /// attribute, `DONE` or `CONFIRM_ATTRIBUTE_WITH_CODE` (a changed email
    /// or phone number awaits the code sent to it).
    pub async fn update_user_attributes(
        &self,
        attributes: &BTreeMap<String, String>,
        client_metadata: Option<BTreeMap<String, String>>,
    ) -> Result<BTreeMap<String, UpdateAttributeOutput>, AuthError> {
        if attributes.is_empty() {
            return Err(AuthError::validation("attributes", "must not be empty"));
        }
        let access_token = Sensitive::new(self.access_token().await?);
        let request = UpdateUserAttributesRequest {
            access_token,
            client_metadata: self.metadata_or(client_metadata),
            user_attributes: attributes
                .iter()
                .map(|(k, v)| AttributeType { name: k.clone(), value: Some(v.as_str().into()), ..Default::default() })
                .collect(),
            ..Default::default()
        };
        let out = self
            .shared
            .caller
            .call::<op::UpdateUserAttributes>(self.user_endpoint(), "updateUserAttributes", &request)
            .await?;
        let mut result: BTreeMap<String, UpdateAttributeOutput> = attributes
            .keys()
            .map(|k| (k.clone(), UpdateAttributeOutput { is_updated: true, next_step: UpdateAttributeStep::Done }))
            .collect();
        for details in out.code_delivery_details_list.unwrap_or_default() {
            let Some(name) = details.attribute_name.clone() else { continue };
            result.insert(
                name,
                UpdateAttributeOutput {
                    is_updated: false,
                    next_step: UpdateAttributeStep::ConfirmAttributeWithCode {
                        code_delivery_details: delivery(Some(details)),
                    },
                },
            );
        }
        Ok(result)
    }

    /// Updates one attribute (Amplify's `updateUserAttribute`): as
    /// [`update_user_attributes`](Self::update_user_attributes) with a
    /// single entry, returning its outcome.
    pub async fn update_user_attribute(
        &self,
        name: &str,
        value: &str,
        client_metadata: Option<BTreeMap<String, String>>,
    ) -> Result<UpdateAttributeOutput, AuthError> {
        let attributes = BTreeMap::from([(name.to_owned(), value.to_owned())]);
        let mut out = self.update_user_attributes(&attributes, client_metadata).await?;
        out.remove(name).ok_or_else(|| AuthError::protocol("no outcome for the updated attribute"))
    }

    /// The user as `GetUser` returns it, MFA settings included: the
    /// older SDK's `getUserData` (amazon-cognito-identity-js), for code
    /// that needs the username, attributes and MFA settings in one call.
    pub async fn get_user_data(&self) -> Result<UserData, AuthError> {
        let out = self.get_user("getUserData").await?;
        let mfa = mfa_of(&out);
        Ok(UserData { username: out.username.into_inner(), attributes: attributes_of(out.user_attributes), mfa })
    }

    /// Signs out everywhere: [`sign_out`](Self::sign_out) with `global`
    /// (the older SDK's `globalSignOut`). Every refresh token of the user
    /// stops working, on every device.
    pub async fn global_sign_out(&self) -> Result<crate::SignOutOutput, AuthError> {
        self.sign_out(true).await
    }

    /// Confirms an attribute with the code sent (Amplify's `confirmUserAttribute`).
    pub async fn confirm_user_attribute(&self, name: &str, code: &str) -> Result<(), AuthError> {
        let access_token = Sensitive::new(self.access_token().await?);
        let request = VerifyUserAttributeRequest {
            access_token,
            attribute_name: name.to_owned(),
            code: code.trim().to_owned(),
            ..Default::default()
        };
        self.shared
            .caller
            .call::<op::VerifyUserAttribute>(self.user_endpoint(), "confirmUserAttribute", &request)
            .await?;
        Ok(())
    }

    /// Sends a verification code for an attribute (Amplify's
    /// `sendUserAttributeVerificationCode`).
    pub async fn send_user_attribute_verification_code(&self, name: &str) -> Result<CodeDeliveryDetails, AuthError> {
        let access_token = Sensitive::new(self.access_token().await?);
        let request = GetUserAttributeVerificationCodeRequest {
            access_token,
            attribute_name: name.to_owned(),
            client_metadata: self.metadata_or(None),
            ..Default::default()
        };
        let out = self
            .shared
            .caller
            .call::<op::GetUserAttributeVerificationCode>(
                self.user_endpoint(),
                "sendUserAttributeVerificationCode",
                &request,
            )
            .await?;
        Ok(delivery(out.code_delivery_details))
    }

    /// Deletes attributes (Amplify's `deleteUserAttributes`).
    pub async fn delete_user_attributes(&self, names: &[&str]) -> Result<(), AuthError> {
        let access_token = Sensitive::new(self.access_token().await?);
        let request = DeleteUserAttributesRequest {
            access_token,
            user_attribute_names: names.iter().map(|n| (*n).to_owned()).collect(),
            ..Default::default()
        };
        self.shared
            .caller
            .call::<op::DeleteUserAttributes>(self.user_endpoint(), "deleteUserAttributes", &request)
            .await?;
        Ok(())
    }

    /// Starts TOTP enrolment for the signed-in user (Amplify's `setUpTOTP`):
    /// the secret and, through [`TotpSetupDetails::setup_uri`], the URI
    /// for a QR code. Finish with [`verify_totp_setup`](Self::verify_totp_setup).
    pub async fn set_up_totp(&self) -> Result<TotpSetupDetails, AuthError> {
        let user = self.get_current_user().await?;
        let access_token = Sensitive::new(self.access_token().await?);
        let request = AssociateSoftwareTokenRequest { access_token: Some(access_token), ..Default::default() };
        let out =
            self.shared.caller.call::<op::AssociateSoftwareToken>(self.user_endpoint(), "setUpTOTP", &request).await?;
        let secret =
            out.secret_code.ok_or_else(|| AuthError::protocol("AssociateSoftwareToken returned no SecretCode"))?;
        Ok(TotpSetupDetails { shared_secret: SecretString::new(secret.into_inner()), username: user.username })
    }

    /// Finishes TOTP enrolment with a code from the app (Amplify's `verifyTOTPSetup`).
    pub async fn verify_totp_setup(&self, code: &str, friendly_device_name: Option<&str>) -> Result<(), AuthError> {
        let access_token = Sensitive::new(self.access_token().await?);
        let request = VerifySoftwareTokenRequest {
            access_token: Some(access_token),
            user_code: Sensitive::new(code.trim().to_owned()),
            friendly_device_name: friendly_device_name.map(str::to_owned),
            ..Default::default()
        };
        let out = self
            .shared
            .caller
            .call::<op::VerifySoftwareToken>(self.user_endpoint(), "verifyTOTPSetup", &request)
            .await?;
        if out.status == Some(VerifySoftwareTokenResponseType::Error) {
            return Err(AuthError::protocol("VerifySoftwareToken returned status ERROR"));
        }
        Ok(())
    }

    /// Sets MFA preferences per factor (Amplify's `updateMFAPreference`);
    /// `None` leaves a factor as it is.
    pub async fn update_mfa_preference(
        &self,
        sms: Option<MfaPreference>,
        totp: Option<MfaPreference>,
        email: Option<MfaPreference>,
    ) -> Result<(), AuthError> {
        let access_token = Sensitive::new(self.access_token().await?);
        let request =
            SetUserMFAPreferenceRequest {
                access_token,
                sms_mfa_settings: settings(sms).map(|(enabled, preferred_mfa)| SMSMfaSettingsType {
                    enabled,
                    preferred_mfa,
                    ..Default::default()
                }),
                software_token_mfa_settings: settings(totp).map(|(enabled, preferred_mfa)| {
                    SoftwareTokenMfaSettingsType { enabled, preferred_mfa, ..Default::default() }
                }),
                email_mfa_settings: settings(email).map(|(enabled, preferred_mfa)| EmailMfaSettingsType {
                    enabled,
                    preferred_mfa,
                    ..Default::default()
                }),
                ..Default::default()
            };
        self.shared
            .caller
            .call::<op::SetUserMFAPreference>(self.user_endpoint(), "updateMFAPreference", &request)
            .await?;
        Ok(())
    }

    /// Enabled and preferred MFA factors (Amplify's `fetchMFAPreference`).
    pub async fn fetch_mfa_preference(&self) -> Result<MfaPreferences, AuthError> {
        Ok(mfa_of(&self.get_user("fetchMFAPreference").await?))
    }

    /// Deletes the user (Amplify's `deleteUser`), then clears everything
    /// local for them, device keys included, and signs out (`userDeleted`,
    /// `signedOut`).
    pub async fn delete_user(&self) -> Result<(), AuthError> {
        let user = self.get_current_user().await?;
        let access_token = Sensitive::new(self.access_token().await?);
        self.shared
            .caller
            .call::<op::DeleteUser>(
                self.user_endpoint(),
                "deleteUser",
                &DeleteUserRequest { access_token, ..Default::default() },
            )
            .await?;
        self.shared.store.clear_tokens().await?;
        self.shared.store.clear_device(&user.username).await?;
        self.shared.sessions.set(None);
        self.shared.clear_credentials().await;
        self.shared.hub_dispatch(&AuthEvent::UserDeleted);
        self.shared.hub_dispatch(&AuthEvent::SignedOut);
        Ok(())
    }
}
